"""TImage decoding: valid images round-trip, every malformed kind raises ImageError with its reason."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from emotion.perception.image import MAX_SIDE, ImageError, decode_image, decode_timage, jpeg_size

W, H = 32, 24
RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (H, W), dtype=np.uint8)
_yy, _xx = np.mgrid[0:H, 0:W]
SMOOTH = np.stack([_xx * 255 // W, _yy * 255 // H, (_xx + _yy) * 255 // (W + H)], axis=-1).astype(np.uint8)
JPEG = cv2.imencode(".jpg", SMOOTH, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
PNG = cv2.imencode(".png", SMOOTH)[1].tobytes()


def _patched_sof(data: bytes, width: int, height: int) -> bytes:
    """A copy of a JPEG whose frame header claims another size."""
    raw = bytearray(data)
    pos = next(i for i in range(2, len(raw) - 1) if raw[i] == 0xFF and raw[i + 1] in (0xC0, 0xC1, 0xC2))
    raw[pos + 5:pos + 7] = height.to_bytes(2, "big")
    raw[pos + 7:pos + 9] = width.to_bytes(2, "big")
    return bytes(raw)


def test_raw_bgr_round_trip():
    out = decode_image(False, W, H, 3, BGR.tobytes())
    assert out.shape == (H, W, 3) and out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(out, BGR)


def test_raw_gray_becomes_three_equal_channels():
    out = decode_image(False, W, H, 1, GRAY.tobytes())
    assert out.shape == (H, W, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], GRAY)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: np.frombuffer(b, np.uint8)])
def test_bytes_like_data_accepted(wrap):
    np.testing.assert_array_equal(decode_image(False, W, H, 3, wrap(BGR.tobytes())), BGR)


def test_jpeg_decodes_close_to_the_original():
    out = decode_image(True, W, H, 3, JPEG)
    assert out.shape == (H, W, 3)
    assert np.abs(out.astype(int) - SMOOTH.astype(int)).mean() < 3  # lossy
    assert jpeg_size(np.frombuffer(JPEG, np.uint8)) == (W, H)


def test_png_is_sniffed_and_decoded_losslessly():
    """RoboComp's realsense_camera flags PNG as compressed, like JPEG: the header says which it is."""
    np.testing.assert_array_equal(decode_image(True, W, H, 3, PNG), SMOOTH)
    gray_png = cv2.imencode(".png", GRAY)[1].tobytes()
    np.testing.assert_array_equal(decode_image(True, W, H, 1, gray_png)[..., 1], GRAY)
    rgba = cv2.imencode(".png", np.dstack([SMOOTH, np.full((H, W), 200, np.uint8)]))[1].tobytes()
    np.testing.assert_array_equal(decode_image(True, W, H, 3, rgba), SMOOTH)   # alpha dropped


def test_rgb_channel_order_is_swapped_to_bgr():
    rgb = BGR[..., ::-1].copy()
    np.testing.assert_array_equal(decode_image(False, W, H, 3, rgb.tobytes(), channel_order="RGB"), BGR)
    rgb_png = cv2.imencode(".png", SMOOTH[..., ::-1].copy())[1].tobytes()       # a camera encoding RGB pixels
    np.testing.assert_array_equal(decode_image(True, W, H, 3, rgb_png, channel_order="RGB"), SMOOTH)
    gray = decode_image(False, W, H, 1, GRAY.tobytes(), channel_order="RGB")
    np.testing.assert_array_equal(gray[..., 0], GRAY)
    with pytest.raises(ValueError, match="BGR, RGB"):
        decode_image(False, W, H, 3, BGR.tobytes(), channel_order="BRG")


def test_gray_jpeg_gives_bgr():
    gray_jpeg = cv2.imencode(".jpg", GRAY)[1].tobytes()
    assert decode_image(True, W, H, 1, gray_jpeg).shape == (H, W, 3)


def test_gray_decoding_gives_the_gray_levels_of_every_kind():
    """What perception decodes: one channel, exactly the colour decode's gray for raw frames; for a PNG and
    a JPEG the decoder's own gray (a JPEG's luma), within rounding of converting their colour decode."""
    as_gray = lambda bgr: cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(decode_image(False, W, H, 3, BGR.tobytes(), gray=True), as_gray(BGR))
    np.testing.assert_array_equal(decode_image(False, W, H, 3, BGR[..., ::-1].tobytes(), channel_order="RGB",
                                               gray=True), as_gray(BGR))
    np.testing.assert_array_equal(decode_image(False, W, H, 1, GRAY.tobytes(), gray=True), GRAY)
    for data in (PNG, JPEG):
        gray = decode_image(True, W, H, 3, data, gray=True)
        assert gray.shape == (H, W) and gray.flags.writeable
        assert np.abs(gray.astype(int) - as_gray(decode_image(True, W, H, 3, data)).astype(int)).max() <= 2
    with pytest.raises(ImageError, match="needs"):
        decode_image(False, W, H, 3, BGR.tobytes()[:-1], gray=True)   # the same checks as in colour


def test_decode_timage_reads_the_fields():
    img = SimpleNamespace(compressed=False, width=W, height=H, depth=3, image=BGR.tobytes(), alivetime=5)
    np.testing.assert_array_equal(decode_timage(img), BGR)


def test_decode_real_ice_timage():
    from emotion.middleware.slices import load_interfaces
    camera = load_interfaces().RoboCompCameraRGBDSimple
    img = camera.TImage(compressed=True, width=W, height=H, depth=3, image=JPEG)
    assert decode_timage(img).shape == (H, W, 3)
    raw = camera.TImage(compressed=False, width=W, height=H, depth=3, image=BGR.tobytes())
    np.testing.assert_array_equal(decode_timage(raw), BGR)


MALFORMED = {
    "raw too few bytes": (False, W, H, 3, BGR.tobytes()[:-1], "needs"),
    "raw too many bytes": (False, W, H, 3, BGR.tobytes() + b"\0", "needs"),
    "gray declared, BGR bytes": (False, W, H, 1, BGR.tobytes(), "needs"),
    "BGR declared, gray bytes": (False, W, H, 3, GRAY.tobytes(), "needs"),
    "width and height swapped": (False, H + 1, W, 3, BGR.tobytes(), "needs"),
    "zero bytes raw": (False, W, H, 3, b"", "0 bytes"),
    "zero bytes compressed": (True, W, H, 3, b"", "0 bytes"),
    "data None": (False, W, H, 3, None, "None"),
    "data str": (False, W, H, 3, "abc", "must be bytes"),
    "data list": (False, W, H, 3, [0] * (W * H * 3), "must be bytes"),
    "data int": (False, W, H, 3, 7, "must be bytes"),
    "data float array": (False, W, H, 3, BGR.astype(np.float32), "uint8"),
    "width zero": (False, 0, H, 3, b"\0", "positive"),
    "height zero": (False, W, 0, 3, b"\0", "positive"),
    "width negative": (False, -W, H, 3, BGR.tobytes(), "positive"),
    "height negative": (False, W, -H, 3, BGR.tobytes(), "positive"),
    "both negative (product positive)": (False, -W, -H, 3, BGR.tobytes(), "positive"),
    "width huge": (False, MAX_SIDE + 1, H, 3, BGR.tobytes(), "maximum"),
    "height huge": (False, W, 10**9, 3, BGR.tobytes(), "maximum"),
    "width beyond int32": (False, 2**40, 1, 3, BGR.tobytes(), "maximum"),
    "depth zero": (False, W, H, 0, BGR.tobytes(), "depth"),
    "depth two": (False, W, H, 2, BGR.tobytes(), "depth"),
    "depth four": (False, W, H, 4, BGR.tobytes(), "depth"),
    "depth negative": (False, W, H, -3, BGR.tobytes(), "depth"),
    "width float": (False, float(W), H, 3, BGR.tobytes(), "integer"),
    "width str": (False, str(W), H, 3, BGR.tobytes(), "integer"),
    "height None": (False, W, None, 3, BGR.tobytes(), "integer"),
    "depth bool": (False, W, H, True, BGR.tobytes(), "integer"),
    "compressed str": ("yes", W, H, 3, JPEG, "bool"),
    "compressed None": (None, W, H, 3, BGR.tobytes(), "bool"),
    "corrupt JPEG random bytes": (True, W, H, 3, RNG.integers(0, 256, 500, dtype=np.uint8).tobytes(), "not a JPEG"),
    "JPEG truncated": (True, W, H, 3, JPEG[: len(JPEG) // 2], "truncated"),
    "JPEG start marker only": (True, W, H, 3, b"\xff\xd8", "no frame header"),
    "JPEG size differs from declared": (True, W * 2, H, 3, JPEG, "declares"),
    "JPEG header claims a huge image": (True, W, H, 3, _patched_sof(JPEG, 60000, 60000), "declares"),
    "JPEG bad segment length": (True, W, H, 3, b"\xff\xd8\xff\xe0\x00\x01" + JPEG[6:], "segment length"),
    "JPEG garbage after start marker": (True, W, H, 3, b"\xff\xd8" + b"\x00" * 100 + b"\xff\xd9", "marker"),
    "raw BGR flagged compressed": (True, W, H, 3, BGR.tobytes(), "not a JPEG or PNG"),
    "JPEG flagged raw": (False, W, H, 3, JPEG, "the data is a JPEG: set compressed"),
    "PNG flagged raw": (False, W, H, 3, PNG, "the data is a PNG: set compressed"),
    "PNG truncated": (True, W, H, 3, PNG[: len(PNG) // 2], "corrupt PNG: truncated"),
    "PNG header cut": (True, W, H, 3, PNG[:20], "no IHDR"),
    "PNG size differs from declared": (True, W, H * 2, 3, PNG, "PNG is 32x24 but the image declares 32x48"),
    "PNG header claims a huge image": (True, 60000, H, 3, PNG[:16] + (60000).to_bytes(4, "big") + PNG[20:],
                                       "maximum"),
    "PNG signature only": (True, W, H, 3, PNG[:8], "no IHDR"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_image_rejected_with_reason(kind):
    *fields, reason = MALFORMED[kind]
    with pytest.raises(ImageError, match=reason):
        decode_image(*fields)


def test_at_least_thirty_malformed_kinds():
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("img", [None, object(), SimpleNamespace(width=W, height=H, depth=3, image=b"")])
def test_decode_timage_rejects_non_images(img):
    with pytest.raises(ImageError):
        decode_timage(img)


def test_corrupt_jpeg_body_never_raises_another_exception():
    """Flipped bytes inside the scan: decoded (possibly damaged) or ImageError, nothing else."""
    for seed in range(20):
        raw = bytearray(JPEG)
        rng = np.random.default_rng(seed)
        for i in rng.integers(20, len(raw) - 2, 8):
            raw[i] = int(rng.integers(0, 256))
        try:
            assert decode_image(True, W, H, 3, bytes(raw)).shape == (H, W, 3)
        except ImageError:
            pass


def test_concurrent_decodes_each_get_exactly_their_own_decoder_messages():
    """Good and corrupt JPEGs decoded from four threads at once: every corrupt one is refused with the
    decoder's line, no good one is, and nothing reaches the real stderr."""
    import subprocess
    import sys

    script = """
import sys
from concurrent.futures import ThreadPoolExecutor
import cv2, numpy as np
from emotion.perception.image import ImageError, decode_image
frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
good = cv2.imencode(".jpg", frame)[1].tobytes()
sos = good.find(b"\\xff\\xda")
bad = good[:sos + 20] + b"\\x13\\x37" * 40 + b"\\xff\\xd9"
def decode(i):
    data = bad if i % 5 == 0 else good
    try:
        decode_image(True, 640, 480, 3, data)
        return ("good" if data is good else "bad", "accepted")
    except ImageError as exc:
        return ("good" if data is good else "bad", "Corrupt JPEG data" in str(exc))
with ThreadPoolExecutor(4) as pool:
    results = list(pool.map(decode, range(200)))
print(sum(r == ("good", "accepted") for r in results), sum(r == ("bad", True) for r in results), len(results))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["160", "40", "200"], result.stdout
    assert "Corrupt JPEG" not in result.stderr, result.stderr
