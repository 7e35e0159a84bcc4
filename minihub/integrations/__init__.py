"""Clients of outside services. They import no MiniHub app and no Django model: what they
need from a mini-program (appid, secret, access token) comes in as arguments."""
