"""etc/emotionrecognition.xml, the rcmanager deployment of the whole chain: nodes as rcmanager reads them,
endpoints agreeing with etc/config and the tools, and a node's endpoint answering rcmanager's ping."""

import shlex
import sys
import xml.etree.ElementTree as ET

from emotion.middleware.communicator import make_communicator
from emotion.middleware.config import load_config
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.paths import REPO_ROOT
from emotion.tools.listen import PING_IDENTITY

DEPLOYMENT = REPO_ROOT / "etc" / "emotionrecognition.xml"


def nodes() -> dict[str, ET.Element]:
    root = ET.parse(DEPLOYMENT).getroot()
    assert root.tag == "rcmanager"
    return {node.get("alias"): node for node in root.findall("node")}


def endpoint_port(endpoint: str) -> int:
    words = endpoint.split()
    return int(words[words.index("-p") + 1])


def test_the_chain_is_rcnode_camera_component_listener_in_dependency_order():
    chain = nodes()
    assert list(chain) == ["rcnode", "camera", "emotionrecognition", "listener"]
    seen = set()
    for alias, node in chain.items():                                   # every dependence is an earlier node
        dependences = {d.get("alias") for d in node.findall("dependence")}
        assert dependences <= seen, alias
        seen.add(alias)
        assert node.find("upCommand").get("command") and node.find("downCommand").get("command")
        config = node.find("configFile").get("path")
        assert not config or (REPO_ROOT / config).is_file(), config


def test_endpoints_agree_with_the_config_and_the_commands():
    chain = nodes()
    config = load_config(REPO_ROOT / "etc" / "config").values
    rcnode = chain["rcnode"].get("endpoint")
    assert rcnode.startswith("IceStorm/TopicManager:") and endpoint_port(rcnode) == endpoint_port(
        str(config["Proxies.TopicManager"])) == 9999
    assert "IceStorm.TopicManager.Endpoints=tcp -p 9999" in (REPO_ROOT / "etc" / "rcnode.conf").read_text()
    component = chain["emotionrecognition"]
    assert component.get("endpoint").startswith("commonbehavior:")
    assert endpoint_port(component.get("endpoint")) == endpoint_port(str(config["Endpoints.CommonBehavior"]))
    assert component.find("upCommand").get("command") == "bin/emotionrecognition etc/config"
    camera = chain["camera"]
    assert camera.get("endpoint").split(":")[0] == str(config["Proxies.CameraRGBDSimple"]).split(":")[0]
    assert f"-p {endpoint_port(camera.get('endpoint'))}" in camera.find("upCommand").get("command")
    listener = chain["listener"]
    assert listener.get("endpoint").split(":")[0] == PING_IDENTITY
    assert f"-p {endpoint_port(listener.get('endpoint'))}" in listener.find("upCommand").get("command")


def test_the_listener_node_answers_rcmanagers_ping(tmp_path, rcnode):
    """rcmanager shows a node alive when ice_ping on its endpoint answers: start the listener node's own
    command (on a free port and the test rcnode) and ping it."""
    listener = nodes()["listener"]
    port = free_port()
    argv = shlex.split(listener.find("upCommand").get("command").replace("-p 10099", f"-h {LOOPBACK} -p {port}"))
    assert argv[:3] == [".venv/bin/python", "-m", "emotion"]
    process = ManagedProcess([sys.executable, *argv[1:], "--topic-manager", rcnode], cwd=REPO_ROOT,
                             log_path=tmp_path / "listener.log", name="listener").start()
    communicator = make_communicator()
    try:
        endpoint = listener.get("endpoint").replace("localhost", LOOPBACK).replace("10099", str(port))
        proxy = communicator.stringToProxy(endpoint).ice_invocationTimeout(2000)
        assert wait_until(lambda: proxy.ice_ping() is None, 20.0), process.output()
    finally:
        process.stop()
        communicator.destroy()
