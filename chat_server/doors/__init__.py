"""The server's doors: each speaks one wire protocol to the same hub."""
