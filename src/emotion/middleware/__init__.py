"""Ice helpers shared by the generated glue, the tools, the tests and the benchmarks.

- ``slices``: the one slice loader (``load_interfaces()``).
- ``config``: RoboComp's new config format (errors name file, line and key).
- ``parameters``: typed, validated parameters (CommonBehavior get/setParameterList).
- ``topics``: IceStorm links that survive a missing or restarted rcnode.
- ``images``: TImage / TDepth builders for publishers.
- ``processes``: free loopback ports, real processes started and stopped by process group.
- ``rcnode``: icebox running IceStorm (RoboComp's rcnode).
- ``component``: a temporary config and a running component process.
"""
