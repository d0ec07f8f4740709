//! What an entry id of [`super::real_backend::RealBackend`] names: `pair|image|mask;mask`,
//! `image|path`, `dicom|path` or `nifti|path|k`. The id carries the files, so the backend
//! keeps no per-dataset state; this is the one place that writes and reads the format.

use std::path::PathBuf;

use super::backend::EntryId;

/// The files behind an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryRef {
    /// A 2D image with its mask file(s).
    Pair {
        /// The image.
        image: PathBuf,
        /// Its masks (several are united).
        masks: Vec<PathBuf>,
    },
    /// A 2D image without a mask.
    Image(PathBuf),
    /// A DICOM slice.
    Dicom(PathBuf),
    /// Axial slice `k` of a NIfTI volume.
    NiftiSlice {
        /// The volume.
        volume: PathBuf,
        /// The slice.
        k: usize,
    },
}

impl EntryRef {
    /// The id naming these files.
    pub fn id(&self) -> EntryId {
        EntryId(match self {
            Self::Pair { image, masks } => {
                let masks: Vec<String> = masks.iter().map(|m| m.display().to_string()).collect();
                format!("pair|{}|{}", image.display(), masks.join(";"))
            }
            Self::Image(path) => format!("image|{}", path.display()),
            Self::Dicom(path) => format!("dicom|{}", path.display()),
            Self::NiftiSlice { volume, k } => format!("nifti|{}|{k}", volume.display()),
        })
    }

    /// The files `id` names.
    pub fn parse(id: &EntryId) -> Result<Self, String> {
        let unknown = || format!("unknown entry {}", id.0);
        let (kind, rest) = id.0.split_once('|').ok_or_else(unknown)?;
        match kind {
            "pair" => {
                let (image, masks) = rest.rsplit_once('|').ok_or_else(unknown)?;
                Ok(Self::Pair {
                    image: image.into(),
                    masks: masks
                        .split(';')
                        .filter(|m| !m.is_empty())
                        .map(PathBuf::from)
                        .collect(),
                })
            }
            "image" => Ok(Self::Image(rest.into())),
            "dicom" => Ok(Self::Dicom(rest.into())),
            "nifti" => {
                let (volume, k) = rest.rsplit_once('|').ok_or_else(unknown)?;
                let k = k
                    .parse()
                    .map_err(|_| format!("bad slice index in {}", id.0))?;
                Ok(Self::NiftiSlice {
                    volume: volume.into(),
                    k,
                })
            }
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_name_their_files() {
        let refs = [
            EntryRef::Pair {
                image: "/d/images/a.png".into(),
                masks: vec!["/d/masks/a.png".into(), "/d/masks/a_2.png".into()],
            },
            EntryRef::Image("/d/images/b.png".into()),
            EntryRef::Dicom("/d/ct/1.dcm".into()),
            // A '|' inside a path survives: the slice index is split off from the right.
            EntryRef::NiftiSlice {
                volume: "/d/odd|name.nii.gz".into(),
                k: 12,
            },
        ];
        for r in &refs {
            assert_eq!(&EntryRef::parse(&r.id()).unwrap(), r);
        }
        assert_eq!(
            refs[0].id().0,
            "pair|/d/images/a.png|/d/masks/a.png;/d/masks/a_2.png"
        );
        assert_eq!(refs[3].id().0, "nifti|/d/odd|name.nii.gz|12");
    }

    #[test]
    fn bad_ids_are_refused_with_the_id_named() {
        for (id, message) in [
            ("nifti|/v.nii|x", "bad slice index in nifti|/v.nii|x"),
            ("nifti|/v.nii", "unknown entry nifti|/v.nii"),
            ("video|/a.mp4", "unknown entry video|/a.mp4"),
            ("plain", "unknown entry plain"),
        ] {
            assert_eq!(
                EntryRef::parse(&EntryId(id.into())).unwrap_err(),
                message,
                "{id}"
            );
        }
    }
}
