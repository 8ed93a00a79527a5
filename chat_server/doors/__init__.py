"""The ways into the server: each door turns its wire into hub calls, hub output into its wire."""
