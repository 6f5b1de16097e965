"""Drop-in for RoboComp's cameras and emotion clients, with real processes: a CameraSimple camera and a
FacialEmotionRecognition / EmotionRecognition client built from RoboComp's own IDSL text (tests/robocomp_idsl.py,
in fresh Python processes that never load the project's slices), PNG and RGB frames, cameras whose
alivetime is constant 0 or in nanoseconds, Labels.Style, and poll modes that receive no pushed frames.

Random-weight checkpoints only: the labels are plumbing here, not accuracy.
"""

import json
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

import robocomp_idsl
from emotion.camera.sources import content_key
from emotion.middleware.communicator import make_communicator
from emotion.middleware.images import empty_tdepth, encode_timage
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.middleware.slices import load_interfaces
from emotion.paths import INTERFACES_DIR, REPO_ROOT, SAMPLE_CLIP
from emotion.perception.crop import face_crop

M = load_interfaces()
ROBOCOMP2_NAMES = ["Happy", "Sad", "Neutral", "Angry", "Surprised"]
CROP = 48

# A CameraSimple camera as RoboComp's robolab camerasimple serves one (raw BGR, compressed false) or as a
# PNG-compressing camera does, built from RoboComp's CameraSimple.idsl text: serves the still image.
CAMERA_SIMPLE = r'''
import sys
import cv2, Ice
slice_dir, port, fmt, still = sys.argv[1:5]
Ice.loadSlice(f"-I{slice_dir} --all {slice_dir}/CameraSimple.ice")
import RoboCompCameraSimple
frame = cv2.imread(still)
h, w, d = frame.shape
if fmt == "png":
    image = RoboCompCameraSimple.TImage(compressed=True, width=w, height=h, depth=d,
                                        image=cv2.imencode(".png", frame)[1].tobytes())
else:
    image = RoboCompCameraSimple.TImage(compressed=False, width=w, height=h, depth=d, image=frame.tobytes())

class Camera(RoboCompCameraSimple.CameraSimple):
    calls = 0
    def getImage(self, current=None):
        Camera.calls += 1
        return image

ic = Ice.initialize(["--Ice.MessageSizeMax=20004800"])
adapter = ic.createObjectAdapterWithEndpoints("CameraSimple", f"tcp -h 127.0.0.1 -p {port}")
adapter.add(Camera(), Ice.stringToIdentity("camerasimple"))
adapter.activate()
print("camerasimple serving", fmt, flush=True)
ic.waitForShutdown()
'''

# A RoboComp client: FacialEmotionRecognition and EmotionRecognition from RoboComp's IDSL text, and the
# project's EmotionRecognitionPub.ice compiled beside RoboComp's EmotionRecognition.ice (the only project
# files in its slice folder are EmotionRecognitionPub.ice and the EmotionStates.ice it includes).
CLIENT = r'''
import json, sys, threading
import Ice
slice_dir, topic_manager, proxy = sys.argv[1:4]
for name in ("FacialEmotionRecognition.ice", "EmotionRecognition.ice", "EmotionRecognitionPub.ice"):
    Ice.loadSlice(f"-I{slice_dir} --all {slice_dir}/{name}")
import IceStorm, RoboCompEmotionRecognition, RoboCompEmotionRecognitionPub, RoboCompFacialEmotionRecognition

pushed, got = [], threading.Event()
class Listener(RoboCompEmotionRecognitionPub.EmotionRecognitionPub):
    def pushEmotionStates(self, cameraId, alivetime, states, current=None):
        if states:
            pushed.append([cameraId, [s.emotion for s in states]])
            got.set()

ic = Ice.initialize(["--Ice.MessageSizeMax=20004800"])
adapter = ic.createObjectAdapterWithEndpoints("Listener", "tcp -h 127.0.0.1")
subscriber = adapter.addWithUUID(Listener()).ice_oneway()
adapter.activate()
manager = IceStorm.TopicManagerPrx.checkedCast(ic.stringToProxy(topic_manager))
try:
    topic = manager.retrieve("EmotionRecognitionPub")
except IceStorm.NoSuchTopic:
    topic = manager.create("EmotionRecognitionPub")
topic.subscribeAndGetPublisher({}, subscriber)
print("subscribed", flush=True)
if not got.wait(60):
    sys.exit("no states pushed within 60 s")
facial = RoboCompFacialEmotionRecognition.FacialEmotionRecognitionPrx.checkedCast(
    ic.stringToProxy(f"facialemotionrecognition:{proxy}"))
emotion = RoboCompEmotionRecognition.EmotionRecognitionPrx.checkedCast(ic.stringToProxy(f"emotionrecognition:{proxy}"))
faces = [{"box": [f.x, f.y, f.w, f.h], "vector": list(f.EmotionVector),
          "image": [f.FaceImage.width, f.FaceImage.height, f.FaceImage.depth, bytes(f.FaceImage.image).hex()]}
         for f in facial.getEmotionList()]
listed = [[e.x, e.y, e.w, e.h, e.emotion] for e in emotion.getEmotionList()]
print(json.dumps({"faces": faces, "listed": listed, "pushed": pushed,
                  "robocomp_ops": sorted(o for o in dir(RoboCompEmotionRecognition.EmotionRecognitionPrx)
                                         if o.startswith("get") and not o.endswith("Async"))}))
topic.unsubscribe(subscriber)
ic.destroy()
'''


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """Frame 30 of the sample clip (one frontal face), as a PNG file and as the BGR array."""
    if not SAMPLE_CLIP.is_file():
        pytest.skip(f"sample clip {SAMPLE_CLIP} is missing (media/ of the repository)")
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = [capture.read()[1] for _ in range(40)]
    capture.release()
    path = tmp_path_factory.mktemp("still") / "still.png"
    cv2.imwrite(str(path), frames[30])
    return path, frames


@pytest.fixture(scope="module")
def robocomp_slices(tmp_path_factory):
    """A slice folder as a RoboComp installation has it: RoboComp's own .ice files (from their IDSL text,
    which has no imports) beside the project's EmotionRecognitionPub.ice and EmotionStates.ice."""
    folder = tmp_path_factory.mktemp("robocomp_interfaces")
    (folder / "CameraSimple.ice").write_text(robocomp_idsl.CAMERASIMPLE)
    (folder / "FacialEmotionRecognition.ice").write_text(robocomp_idsl.FACIALEMOTIONRECOGNITION)
    (folder / "EmotionRecognition.ice").write_text(robocomp_idsl.EMOTIONRECOGNITION)
    for name in ("EmotionRecognitionPub.ice", "EmotionStates.ice"):
        (folder / name).write_text((INTERFACES_DIR / name).read_text())
    return folder


def robocomp_process(tmp_path, code: str, *argv, name: str) -> ManagedProcess:
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    return ManagedProcess([sys.executable, "-u", str(script), *map(str, argv)], cwd=tmp_path,
                          log_path=tmp_path / f"{name}.log", name=name)


def facial_proxy(component):
    """The component's FacialEmotionRecognition (served on the EmotionRecognition port by default)."""
    base = component.communicator.stringToProxy(
        f"facialemotionrecognition:tcp -h {LOOPBACK} -p {component.ports.emotionrecognition}")
    return M.RoboCompFacialEmotionRecognition.FacialEmotionRecognitionPrx.uncheckedCast(base.ice_invocationTimeout(3000))


def port_refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) != 0


@pytest.mark.parametrize("name", ["CameraSimple", "FacialEmotionRecognition"])
def test_interfaces_are_token_identical_to_robocomps(name):
    ours = (INTERFACES_DIR / f"{name}.idsl").read_text()
    assert robocomp_idsl.tokens(ours) == robocomp_idsl.tokens(getattr(robocomp_idsl, name.upper()))


def test_emotion_interface_keeps_robocomps_operations_and_types():
    """The project's EmotionRecognition is RoboComp's plus new operations; RoboComp's tokens come first."""
    theirs = robocomp_idsl.tokens(robocomp_idsl.EMOTIONRECOGNITION)
    ours = robocomp_idsl.tokens((INTERFACES_DIR / "EmotionRecognition.idsl").read_text())
    sequence = ours[ours.index("module"):]
    assert sequence[:theirs.index("interface")] == theirs[:theirs.index("interface")]
    operations = theirs[theirs.index("interface"):-4]                  # up to the interface's closing "};"
    assert sequence[sequence.index("interface"):][:len(operations)] == operations
    pub = robocomp_idsl.tokens((INTERFACES_DIR / "EmotionRecognitionPub.idsl").read_text())
    assert pub[:3] == ["import", '"', "EmotionStates"] and pub.count("import") == 1


# --- poll-simple: a RoboComp CameraSimple camera, a RoboComp client, robocomp2 labels ---------------------

@pytest.fixture(scope="module")
def simple_component(rcnode, start_component, random_weights):
    return start_component(rcnode, {"Camera.Mode": "poll-simple", "Labels.Style": "robocomp2",
                                    "FacialEmotion.CropSize": CROP, "Period.Compute": 20,
                                    "Model.Weights": str(random_weights)})


def assert_crop_is_the_face(face: dict, frame_bgr: np.ndarray) -> None:
    width, height, depth, data = face["image"]
    assert (width, height, depth) == (CROP, CROP, 3)
    crop = np.frombuffer(bytes.fromhex(data), np.uint8).reshape(CROP, CROP, 3)
    assert np.array_equal(crop, face_crop(frame_bgr, tuple(face["box"]), CROP))


def test_poll_simple_serves_a_robocomp_camera_and_client(tmp_path, rcnode, simple_component, robocomp_slices,
                                                         still):
    component = simple_component
    path, frames = still
    proxy = f"tcp -h {LOOPBACK} -p {component.ports.emotionrecognition}"
    client = robocomp_process(tmp_path, CLIENT, robocomp_slices, rcnode, proxy, name="client").start()
    camera = None
    try:
        assert wait_until(lambda: "subscribed" in client.output(), 20.0), client.output()
        camera = robocomp_process(tmp_path, CAMERA_SIMPLE, robocomp_slices, component.ports.camera, "bgr", path,
                                  name="camerasimple").start()
        assert client.wait(60) == 0, client.output() + camera.output() + component.process.output()
        answer = json.loads(client.output().strip().splitlines()[-1])
        assert answer["robocomp_ops"] == ["getEmotionList"]              # RoboComp's own EmotionRecognition
        assert len(answer["faces"]) == 1 and len(answer["listed"]) == 1
        face, listed = answer["faces"][0], answer["listed"][0]
        assert face["box"] == listed[:4] and face["box"][2] > 50
        assert len(face["vector"]) == 5 and abs(sum(face["vector"]) - 1.0) < 1e-4
        assert listed[4] in ROBOCOMP2_NAMES and listed[4] == ROBOCOMP2_NAMES[int(np.argmax(face["vector"]))]
        assert answer["pushed"] and all(label in ROBOCOMP2_NAMES for _, labels in answer["pushed"] for label in labels)
        assert_crop_is_the_face(face, frames[30])
        assert list(component.emotionrecognition().getClassNames()) == ROBOCOMP2_NAMES
        time.sleep(0.5)                                                  # the camera keeps serving the still
        assert component.stat("frames_received") == 1 and component.stat("poll_unchanged") > 5
        assert "camera 0: the camera sends no alivetime: using the receive time" in component.process.output()
    finally:
        client.stop()
        if camera is not None:
            camera.stop()


def test_png_frames_from_a_camerasimple(tmp_path, simple_component, robocomp_slices, still):
    component = simple_component
    path, frames = still
    received = component.stat("frames_received")
    with robocomp_process(tmp_path, CAMERA_SIMPLE, robocomp_slices, component.ports.camera, "png", path,
                          name="camerasimple_png") as camera:
        assert wait_until(lambda: component.stat("frames_processed") >= received + 1, 20.0), camera.output()
        faces = facial_proxy(component).getEmotionList()
    assert component.stat("frames_invalid") == 0 and len(faces) == 1
    face = faces[0]
    assert_crop_is_the_face({"box": [face.x, face.y, face.w, face.h],
                             "image": [face.FaceImage.width, face.FaceImage.height, face.FaceImage.depth,
                                       bytes(face.FaceImage.image).hex()]}, frames[30])


def test_poll_mode_receives_no_pushed_frames(simple_component, bus, still):
    component = simple_component
    assert port_refuses(component.ports.camera_topic)                 # no CameraRGBDSimplePub adapter at all
    publisher = bus.publisher("CameraRGBDSimplePub", M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
    received = component.stat("frames_received")
    for _ in range(5):
        publisher.current().pushRGBD(encode_timage(still[1][0], camera_id=77), empty_tdepth(77))
    time.sleep(1.0)
    assert component.stat("frames_received") == received
    assert not [s for s in component.emotionrecognition().getEmotionStates() if s.cameraId == 77]


# --- poll: a CameraRGBDSimple camera with RGB pixels and odd clocks ----------------------------------------

class SteppedCamera(M.RoboCompCameraRGBDSimple.CameraRGBDSimple):
    """Serves ``image`` (set by the test) on every getImage; counts the calls."""

    def __init__(self) -> None:
        self.image = None
        self.calls = 0
        self.lock = threading.Lock()

    def getImage(self, camera, current=None):
        with self.lock:
            self.calls += 1
            if self.image is None:
                raise M.RoboCompCameraRGBDSimple.HardwareFailedException(what="no frame yet")
            return self.image


@pytest.fixture(scope="module")
def rgbd_camera(rcnode, start_component, random_weights):
    """A poll-mode component (RGB pixels, Frames.MaxAgeMs 5 s) and the in-test camera it polls."""
    component = start_component(rcnode, {"Camera.Mode": "poll", "Camera.ChannelOrder": "RGB", "Period.Compute": 20,
                                         "Frames.MaxAgeMs": 5000, "Model.Weights": str(random_weights)})
    communicator = make_communicator()
    adapter = communicator.createObjectAdapterWithEndpoints("Camera", f"tcp -h {LOOPBACK} -p {component.ports.camera}")
    camera = SteppedCamera()
    adapter.add(camera, communicator.stringToIdentity("camerargbdsimple"))
    adapter.activate()
    yield component, camera
    communicator.destroy()


def rgb_image(frame_bgr, camera_id: int, alivetime: int):
    """A raw TImage with the frame's pixels in RGB order (zed_camera's)."""
    return encode_timage(np.ascontiguousarray(frame_bgr[..., ::-1]), camera_id, alivetime)


def test_constant_alivetime_camera_has_every_new_frame_processed(rgbd_camera, still):
    component, camera = rgbd_camera
    frames = still[1][:8]
    assert len({content_key(encode_timage(f)) for f in frames}) == len(frames)
    for count, frame in enumerate(frames, start=1):
        camera.image = rgb_image(frame, 0, 0)                          # realsense compressed mode: always 0
        assert wait_until(lambda: component.stat("frames_processed") == count, 10.0), component.process.output()
    calls = camera.calls
    time.sleep(0.3)
    assert camera.calls > calls + 3                                    # still polling the same frame ...
    assert component.stat("frames_received") == len(frames)           # ... which is not taken again
    assert component.stat("frames_stale") == 0                         # timed by the receive time, not 0
    output = component.process.output()
    assert output.count("camera 0: alivetime is 0 (missing): using the receive time as frame time") == 1
    faces = facial_proxy(component).getEmotionList()
    assert len(faces) == 1
    face = faces[0]
    crop = np.frombuffer(bytes(face.FaceImage.image), np.uint8).reshape(CROP, CROP, 3)
    assert np.array_equal(crop, face_crop(frames[-1], (face.x, face.y, face.w, face.h), CROP))   # RGB swapped back


def test_nanosecond_alivetime_keeps_latency_sane(rgbd_camera, still):
    component, camera = rgbd_camera
    sent, processed = [], component.stat("frames_processed")
    for count, frame in enumerate(still[1][10:14], start=int(processed) + 1):
        sent.append(time.time_ns())                                    # zed_camera: nanoseconds
        camera.image = rgb_image(frame, 1, sent[-1])
        assert wait_until(lambda: component.stat("frames_processed") == count, 10.0), component.process.output()
    latency = component.stat("latency_ms")
    assert 0 <= latency < 5000 and component.stat("frames_stale") == 0
    assert "camera 1: alivetime" in component.process.output()
    assert "is far in the future (nanoseconds or microseconds?): using the receive time" in component.process.output()
    states = component.emotionrecognition().getEmotionStates()
    assert [s.alivetime for s in states if s.cameraId == 1] == [sent[-1]]     # the frame keeps its identity
