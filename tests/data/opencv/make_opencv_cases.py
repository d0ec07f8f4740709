"""Reference outputs of OpenCV / the CMUNeXt training script for src/data/resize.rs and
src/data/preprocess.rs tests. Needs numpy and opencv-python(-headless); written with
OpenCV 5.1.0 (4.14.0 gives identical bytes). Run from this folder:
    python3 make_opencv_cases.py
Writes:
* resize_cases.json: cv2.resize outputs on the pattern v(x, y, c) = (37x + 91y + (xy % 17) + 53c) % 256;
* pattern_rgb.png (37x23, written with cv2.imwrite from the BGR pattern) and pattern_grey.png (61x98);
* reference_cases.json: the model input for each PNG at size 16:
  "reference": cv2.imread (BGR) -> cv2.resize INTER_LINEAR -> albumentations-1.2 Normalize
               (ImageNet mean/std, max 255, float32) -> / 255 -> HWC->CHW, exactly as main.py;
  "imagenet":  the same on RGB (cv2.cvtColor BGR2RGB) without the second / 255;
  "unit":      RGB / 255.
"""
import hashlib, json
import cv2, numpy as np

def pattern(w, h, c):
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return ((37 * x + 91 * y + (x * y) % 17 + 53 * ch) % 256).astype(np.uint8)

cases = []
for (w, h, c, nw, nh, interp) in [
    (7, 5, 1, 16, 16, "linear"), (37, 23, 3, 16, 16, "linear"), (32, 32, 1, 16, 16, "linear"),
    (61, 98, 1, 32, 16, "linear"), (37, 23, 3, 16, 16, "nearest"), (5, 7, 1, 16, 16, "nearest"),
    (369, 273, 3, 256, 256, "linear"), (512, 512, 3, 256, 256, "linear"), (153, 507, 1, 256, 256, "linear"),
    (369, 273, 1, 256, 256, "nearest"),
] + [
    # 24 seeded random sizes, up- and downscaling, 1 and 3 channels.
    (int(w), int(h), int(c), int(nw), int(nh), "linear")
    for w, h, c, nw, nh in np.random.default_rng(7).integers([2, 2, 1, 1, 1], [300, 300, 4, 300, 300], size=(24, 5))
    if c != 2
]:
    img = pattern(w, h, c)
    flag = cv2.INTER_LINEAR if interp == "linear" else cv2.INTER_NEAREST
    out = cv2.resize(img if c > 1 else img[:, :, 0], (nw, nh), interpolation=flag)
    case = {"width": w, "height": h, "channels": c, "new_width": nw, "new_height": nh, "interpolation": interp,
            "sha256": hashlib.sha256(out.tobytes()).hexdigest()}
    if nw * nh * c <= 1024:
        case["output"] = out.reshape(-1).tolist()
    cases.append(case)
json.dump({"opencv_version": cv2.__version__, "cases": cases}, open("resize_cases.json", "w"))

def albu_normalize(img, mean, std, max_pixel_value=255.0):
    # albumentations 1.2.0 augmentations/functional.py::normalize
    mean = np.array(mean, dtype=np.float32); mean *= max_pixel_value
    std = np.array(std, dtype=np.float32); std *= max_pixel_value
    denominator = np.reciprocal(std, dtype=np.float32)
    img = img.astype(np.float32); img -= mean; img *= denominator
    return img

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
cv2.imwrite("pattern_rgb.png", pattern(37, 23, 3))
cv2.imwrite("pattern_grey.png", pattern(61, 98, 1)[:, :, 0])
ref = []
for name in ["pattern_rgb.png", "pattern_grey.png"]:
    bgr = cv2.imread(name)  # 3 channels, BGR, as dataloader/dataset.py
    small = cv2.resize(bgr, (16, 16), interpolation=cv2.INTER_LINEAR)
    reference = (albu_normalize(small, MEAN, STD).astype("float32") / 255).transpose(2, 0, 1)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    imagenet = albu_normalize(rgb, MEAN, STD).transpose(2, 0, 1)
    unit = (rgb.astype(np.float32) / np.float32(255)).transpose(2, 0, 1)
    for mode, arr in [("reference", reference), ("imagenet", imagenet), ("unit", unit)]:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        ref.append({"file": name, "mode": mode, "size": 16, "sha256_f32le": hashlib.sha256(arr.tobytes()).hexdigest(),
                    "output": [float(v) for v in arr.reshape(-1)]})
json.dump({"opencv_version": cv2.__version__, "cases": ref}, open("reference_cases.json", "w"))
print(cv2.__version__, len(cases), len(ref))
