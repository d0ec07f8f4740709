//! DICOM and NIfTI on the real files of `tests/data/formats/` (see its SOURCE.md), with
//! expected values computed independently with pydicom 3.0.2 and nibabel 5.4.2 / numpy 2.4.6:
//!
//! ```python
//! d = pydicom.dcmread("CT_small.dcm"); hu = d.pixel_array * 1.0 + (-1024)   # slope 1
//! hu.min(), hu.max(), np.percentile(hu, 1), hu[0, 0], hu[64, 64]          # -896, 1167, -850, -849, 904
//! lab = nib.load("brain1_label.nii.gz"); L = np.asanyarray(lab.dataobj)
//! ijk = np.argwhere(L > 0); c = ijk.mean(0); w = lab.affine @ np.r_[c, 1]
//! len(ijk), c, w[:3]   # 4137, [186.98549674 106.35629683 14.3891709], [-46.47304433 -16.5185181 15.52961083]
//! ```

use super::*;
use crate::data::dicom::{self, SeriesOrder};
use crate::data::error::DataError;
use crate::data::nifti::{self, AffineSource, VoxelAxis, label_stats};
use crate::data::scalar::{Intensity, Modality};
use crate::data::window::{WindowPreset, window_u8};

fn formats() -> PathBuf {
    data_dir().join("formats")
}

#[test]
fn ct_dicom_gives_hounsfield_units() {
    let s = dicom::read_dicom(&formats().join("CT_small.dcm")).unwrap();
    assert_eq!(s.modality, Modality::Ct);
    assert_eq!(
        (s.width, s.height, s.bits_stored, s.signed),
        (128, 128, 16, true)
    );
    assert_eq!(
        (s.rescale_slope, s.rescale_intercept, s.has_rescale),
        (1.0, -1024.0, true)
    );
    assert_eq!(s.pixel_spacing_mm, Some([0.661468, 0.661468]));
    assert_eq!(
        s.image_position,
        Some([-158.135803, -179.035797, -75.699997])
    );
    assert_eq!(s.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_eq!(s.padding_value, Some(-2000));
    assert_eq!(s.window, None);
    assert_eq!(&s.stored[..5], &[175, 180, 166, 143, 139]);
    let hu = s.hu().unwrap();
    assert_eq!(hu[0], -849.0);
    assert_eq!(hu[64 * 128 + 64], 904.0);
    let min = hu.iter().copied().fold(f32::INFINITY, f32::min);
    let max = hu.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!((min, max), (-896.0, 1167.0));
    // This 128² crop (85 mm field of view) holds no air outside the body: the darkest
    // tissue is lung parenchyma around −850 HU, not air at −1000.
    let mut sorted = hu.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted[hu.len() / 100], -850.0);
    assert_eq!(window_u8(hu[0], WindowPreset::Lung.window()), 85); // (−849 + 1350) / 1500 · 255 = 85.2
    let scalar = s.to_scalar();
    assert_eq!(scalar.intensity, Intensity::Hounsfield);
    assert_eq!(scalar.spacing_mm, Some([0.661468, 0.661468]));
}

#[test]
fn mr_dicom_is_shown_as_stored() {
    let s = dicom::read_dicom(&formats().join("MR_small.dcm")).unwrap();
    assert_eq!(s.modality, Modality::Mr);
    assert_eq!((s.width, s.height), (64, 64));
    assert!(!s.has_rescale);
    assert!(s.hu().is_none());
    let v = s.values();
    assert_eq!(&v[..5], &[905.0, 1019.0, 1227.0, 1259.0, 761.0]);
    assert_eq!(v[32 * 64 + 32], 182.0);
    assert_eq!(s.window.map(|w| (w.center, w.width)), Some((600.0, 1600.0)));
    assert_eq!(s.pixel_spacing_mm, Some([0.3125, 0.3125]));
    assert_eq!(s.to_scalar().intensity, Intensity::Stored);
}

#[test]
fn broken_dicom_files_are_errors() {
    let d = TempDir::new("baddicom");
    let empty = d.path().join("empty.dcm");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        dicom::read_dicom(&empty).unwrap_err().to_string(),
        format!("file is empty (0 bytes): {}", empty.display())
    );
    let junk = d.path().join("junk.dcm");
    std::fs::write(&junk, vec![7u8; 300]).unwrap();
    let err = dicom::read_dicom(&junk).unwrap_err();
    assert!(matches!(err, DataError::Dicom { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot read DICOM ("));
    assert!(err.to_string().ends_with(&junk.display().to_string()));
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    let d = TempDir::new("j2k");
    let src = std::fs::read(formats().join("CT_small.dcm")).unwrap();
    // Same-length patch of the meta header's transfer syntax: explicit VR LE → JPEG 2000.
    let from = b"1.2.840.10008.1.2.1\0";
    let to = b"1.2.840.10008.1.2.4.91";
    let at = src.windows(from.len()).position(|w| w == from).unwrap();
    let mut bytes = src[..at].to_vec();
    // The element length grows by 2: rewrite the 2-byte length before the value and the group length.
    let len_at = at - 2;
    bytes[len_at..len_at + 2].copy_from_slice(&(to.len() as u16).to_le_bytes());
    bytes.extend_from_slice(to);
    bytes.extend_from_slice(&src[at + from.len()..]);
    let group_len_at = bytes
        .windows(4)
        .position(|w| w == [0x02, 0x00, 0x00, 0x00])
        .unwrap()
        + 8;
    let old = u32::from_le_bytes(bytes[group_len_at..group_len_at + 4].try_into().unwrap());
    bytes[group_len_at..group_len_at + 4].copy_from_slice(&(old + 2).to_le_bytes());
    let p = d.path().join("j2k.dcm");
    std::fs::write(&p, bytes).unwrap();
    let err = dicom::read_dicom(&p).unwrap_err();
    assert!(
        matches!(&err, DataError::DicomTransferSyntax { uid, .. } if uid == "1.2.840.10008.1.2.4.91"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("unsupported DICOM transfer syntax 1.2.840.10008.1.2.4.91 (JPEG 2000)")
    );
}

#[test]
fn dicom_folder_is_sorted_by_position_and_skips_junk() {
    let d = TempDir::new("series");
    let src = std::fs::read(formats().join("CT_small.dcm")).unwrap();
    let original = b"-75.699997";
    let at = src
        .windows(original.len())
        .position(|w| w == original)
        .unwrap();
    // File names in the opposite order of position.
    for (name, z) in [
        ("a.dcm", b"-70.699997"),
        ("b.dcm", b"-75.699997"),
        ("c.dcm", b"-80.699997"),
    ] {
        let mut bytes = src.clone();
        bytes[at..at + z.len()].copy_from_slice(z);
        std::fs::write(d.path().join(name), bytes).unwrap();
    }
    std::fs::write(d.path().join("readme.txt"), "not dicom").unwrap();
    let series = dicom::read_dicom_folder(d.path()).unwrap();
    assert_eq!(series.order, SeriesOrder::Position);
    let names: Vec<String> = series
        .slices
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["c.dcm", "b.dcm", "a.dcm"]);
    assert_eq!(series.slices[0].normal_position(), Some(-80.699997));
    assert_eq!(series.skipped.len(), 1);
    assert_eq!(series.skipped[0].0, d.path().join("readme.txt"));
}

#[test]
fn nifti_image_geometry_and_values() {
    let v = nifti::read_nifti(&formats().join("brain1_image.nii.gz")).unwrap();
    assert_eq!(v.dims, [256, 256, 25]);
    assert_eq!(v.datatype, "Int16");
    assert_eq!(v.affine_source, AffineSource::Sform);
    assert_eq!(
        v.affine,
        [
            [-0.78125, 0.0, 0.0, 99.609375],
            [0.0, 0.78125, 0.0, -99.609375],
            [0.0, 0.0, 6.5, -78.0]
        ]
    );
    assert_eq!(v.spacing_mm, [0.78125, 0.78125, 6.5]);
    // nibabel: img[128, 128, 12] == 526, img[100, 120, 10] == 560.
    assert_eq!(v.value(128, 128, 12), 526.0);
    assert_eq!(v.value(100, 120, 10), 560.0);
    assert_eq!(
        v.voxel_to_world([0.0, 0.0, 0.0]),
        [99.609375, -99.609375, -78.0]
    );
    assert_eq!(nifti::ras_to_lps([1.0, 2.0, 3.0]), [-1.0, -2.0, 3.0]);

    let axial = v.slice(VoxelAxis::K, 12, Some(Modality::Mr)).unwrap();
    assert_eq!((axial.width, axial.height), (256, 256));
    assert_eq!(axial.get(128, 128), 526.0);
    let coronal = v.slice(VoxelAxis::J, 120, None).unwrap();
    assert_eq!(
        (coronal.width, coronal.height, coronal.get(100, 10)),
        (256, 25, 560.0)
    );
    let sagittal = v.slice(VoxelAxis::I, 100, None).unwrap();
    assert_eq!(
        (sagittal.width, sagittal.height, sagittal.get(120, 10)),
        (256, 25, 560.0)
    );
    assert_eq!(sagittal.spacing_mm, Some([0.78125, 6.5]));
    let err = v.slice(VoxelAxis::K, 25, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "slice 25 is out of range (axis K has 25 slices): {}",
            v.path.display()
        )
    );
}

#[test]
fn nifti_label_count_and_world_centroid() {
    let v = nifti::read_nifti(&formats().join("brain1_label.nii.gz")).unwrap();
    assert_eq!(v.datatype, "Uint8");
    let s = label_stats(&v, None);
    assert_eq!(s.voxel_count, 4137);
    let c = s.centroid_voxel.unwrap();
    let w = s.centroid_world_mm.unwrap();
    for (got, want) in c.iter().zip([186.98549674, 106.35629683, 14.3891709]) {
        assert!((got - want).abs() < 1e-6, "{c:?}");
    }
    for (got, want) in w.iter().zip([-46.47304433, -16.5185181, 15.52961083]) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
    // 4137 voxels of 0.78125 × 0.78125 × 6.5 mm.
    assert!((s.volume_mm3 - 4137.0 * 0.78125 * 0.78125 * 6.5).abs() < 1e-6);
    assert_eq!(label_stats(&v, Some(1)).voxel_count, 4137);
    let absent = label_stats(&v, Some(2));
    assert_eq!((absent.voxel_count, absent.centroid_world_mm), (0, None));
}

#[test]
fn nifti_written_like_its_input_keeps_grid_and_values() {
    let input = formats().join("brain1_image.nii.gz");
    let v = nifti::read_nifti(&input).unwrap();
    let dir = TempDir::new("nifti-write");
    // Float values that are not the input's (so a copy of the input would fail), and labels.
    let probs: Vec<f32> = (0..v.values.len())
        .map(|n| (n % 1000) as f32 / 1000.0)
        .collect();
    let labels: Vec<u8> = probs.iter().map(|&p| u8::from(p > 0.5)).collect();
    let prob_path = dir.path().join("brain1_image.nii.gz");
    let label_path = dir.path().join("brain1.label.v2.nii"); // dots inside the name
    nifti::write_like(
        &input,
        &prob_path,
        v.dims,
        &probs,
        nifti::WrittenIntent::Probability,
        "probability",
    )
    .unwrap();
    nifti::write_like(
        &input,
        &label_path,
        v.dims,
        &labels,
        nifti::WrittenIntent::Label,
        "labels p>0.5",
    )
    .unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    // Name and content that disagree on compression are named as such.
    let renamed = dir.path().join("plain.nii");
    std::fs::copy(&prob_path, &renamed).unwrap();
    let err = nifti::read_nifti(&renamed).unwrap_err();
    assert!(
        err.to_string()
            .contains("gzip-compressed but not named .gz"),
        "{err}"
    );
    std::fs::remove_file(&renamed).unwrap();

    let p = nifti::read_nifti(&prob_path).unwrap();
    assert_eq!(
        (p.dims, p.spacing_mm, p.affine, p.affine_source),
        (v.dims, v.spacing_mm, v.affine, AffineSource::Sform)
    );
    assert_eq!(p.datatype, "Float32");
    assert_eq!(p.values, probs, "voxel order i fastest, as read");
    assert_eq!(p.value(128, 128, 12), probs[128 + 256 * (128 + 256 * 12)]);
    let l = nifti::read_nifti(&label_path).unwrap();
    assert_eq!(
        (l.dims, l.affine, l.datatype.as_str()),
        (v.dims, v.affine, "Uint8")
    );
    assert_eq!(
        l.values.iter().map(|&x| x as u8).collect::<Vec<_>>(),
        labels
    );
    let header = ::nifti::NiftiHeader::from_file(&label_path).unwrap();
    assert_eq!(header.intent_code, 1002, "NIFTI_INTENT_LABEL");
    assert!(header.descrip.starts_with(b"labels p>0.5"));
    // The input's qform survives too, not only the sform.
    let original = ::nifti::NiftiHeader::from_file(&input).unwrap();
    assert_eq!(
        (
            header.qform_code,
            header.quatern_b,
            header.quatern_c,
            header.quatern_d
        ),
        (
            original.qform_code,
            original.quatern_b,
            original.quatern_c,
            original.quatern_d
        )
    );
    assert_eq!((header.scl_slope, header.scl_inter), (1.0, 0.0));

    // Upper-case names are compressed too (the reader and other tools go by the name).
    let upper = dir.path().join("UPPER.NII.GZ");
    nifti::write_like(
        &input,
        &upper,
        v.dims,
        &labels,
        nifti::WrittenIntent::Label,
        "",
    )
    .unwrap();
    assert_eq!(&std::fs::read(&upper).unwrap()[..2], &[0x1f, 0x8b]);

    let err = nifti::write_like(
        &input,
        &dir.path().join("short.nii"),
        v.dims,
        &labels[..10],
        nifti::WrittenIntent::Label,
        "",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write NIfTI (10 values for a 256×256×25 volume): {}",
            dir.path().join("short.nii").display()
        )
    );
    assert!(!dir.path().join("short.nii").exists());
}

/// A hand-assembled single-file NIfTI-1 (`.nii`): 348-byte header, 4 extension bytes, data.
pub(super) fn write_nii(
    path: &Path,
    big_endian: bool,
    dims: [u16; 3],
    datatype: i16,
    bitpix: i16,
    data: &[u8],
    setup: impl Fn(&mut Vec<u8>, &dyn Fn(&mut Vec<u8>, usize, &[u8])),
) {
    let mut h = vec![0u8; 352];
    let put =
        |h: &mut Vec<u8>, at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    let i16b = |v: i16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let i32b = |v: i32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let f32b = |v: f32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    put(&mut h, 0, &i32b(348));
    for (i, d) in [
        3i16,
        dims[0] as i16,
        dims[1] as i16,
        dims[2] as i16,
        1,
        1,
        1,
        1,
    ]
    .iter()
    .enumerate()
    {
        put(&mut h, 40 + 2 * i, &i16b(*d));
    }
    put(&mut h, 70, &i16b(datatype));
    put(&mut h, 72, &i16b(bitpix));
    for (i, p) in [1.0f32, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0]
        .iter()
        .enumerate()
    {
        put(&mut h, 76 + 4 * i, &f32b(*p));
    }
    put(&mut h, 108, &f32b(352.0));
    put(&mut h, 344, b"n+1\0");
    let put_dyn =
        |h: &mut Vec<u8>, at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    setup(&mut h, &put_dyn);
    h.extend_from_slice(data);
    std::fs::write(path, h).unwrap();
}

#[test]
fn plain_nii_little_and_big_endian_with_scaling_and_qform() {
    let d = TempDir::new("nii");
    // Little-endian uint8 labels, 3×2×2, sform = diag(1, 2, 3) + (10, 20, 30), slope NaN (no scaling).
    let le = d.path().join("labels.nii");
    let labels: Vec<u8> = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1];
    write_nii(&le, false, [3, 2, 2], 2, 8, &labels, |h, put| {
        put(h, 112, &f32::NAN.to_le_bytes());
        put(h, 254, &1i16.to_le_bytes());
        for (row, vals) in [
            (280, [1.0f32, 0.0, 0.0, 10.0]),
            (296, [0.0, 2.0, 0.0, 20.0]),
            (312, [0.0, 0.0, 3.0, 30.0]),
        ] {
            for (i, v) in vals.iter().enumerate() {
                put(h, row + 4 * i, &v.to_le_bytes());
            }
        }
    });
    let v = nifti::read_nifti(&le).unwrap();
    assert_eq!(
        v.values,
        labels.iter().map(|&x| f32::from(x)).collect::<Vec<_>>()
    );
    // Label 1 at voxels (1,0,0) and (2,1,1): centroid (1.5, 0.5, 0.5) → world (11.5, 21, 31.5).
    let s = label_stats(&v, Some(1));
    assert_eq!(
        (s.voxel_count, s.centroid_world_mm),
        (2, Some([11.5, 21.0, 31.5]))
    );
    assert_eq!(s.volume_mm3, 12.0);

    // Big-endian int16 with slope 2 and intercept −1, qform only: 90° about z.
    let be = d.path().join("scaled_be.nii");
    let raw: Vec<i16> = vec![-3, 0, 1, 2, 100, -100, 7, 8, 9, 10, 11, 12];
    let data: Vec<u8> = raw.iter().flat_map(|v| v.to_be_bytes()).collect();
    write_nii(&be, true, [3, 2, 2], 4, 16, &data, |h, put| {
        put(h, 112, &2.0f32.to_be_bytes());
        put(h, 116, &(-1.0f32).to_be_bytes());
        put(h, 252, &1i16.to_be_bytes()); // qform_code
        put(h, 264, &std::f32::consts::FRAC_1_SQRT_2.to_be_bytes()); // quatern_d
        for (i, o) in [5.0f32, 6.0, 7.0].iter().enumerate() {
            put(h, 268 + 4 * i, &o.to_be_bytes());
        }
    });
    let v = nifti::read_nifti(&be).unwrap();
    assert_eq!(
        v.values,
        raw.iter()
            .map(|&x| f32::from(x) * 2.0 - 1.0)
            .collect::<Vec<_>>()
    );
    assert_eq!(v.affine_source, AffineSource::Qform);
    // R = [[0, −1, 0], [1, 0, 0], [0, 0, 1]], spacing (2, 3, 4): columns scaled.
    let expect = [
        [0.0, -3.0, 0.0, 5.0],
        [2.0, 0.0, 0.0, 6.0],
        [0.0, 0.0, 4.0, 7.0],
    ];
    for (row, want) in v.affine.iter().zip(expect) {
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", v.affine);
        }
    }
}

#[test]
fn broken_nifti_is_an_error() {
    let d = TempDir::new("badnii");
    let p = d.path().join("bad.nii.gz");
    std::fs::write(&p, b"not gzip").unwrap();
    let err = nifti::read_nifti(&p).unwrap_err();
    assert!(err.to_string().starts_with("cannot read NIfTI ("), "{err}");
    assert!(err.to_string().ends_with(&p.display().to_string()));
}
