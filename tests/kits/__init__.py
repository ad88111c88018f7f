"""What the tests share: the throw-away systemd harness, the stand-ins for GitHub and the remote, and
the device, product and release kits."""
