"""The IRC gateway's sans-I/O parts: line codec, replies, capabilities and modes."""
