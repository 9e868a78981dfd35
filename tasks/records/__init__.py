"""Signed review records: a decided run as an in-toto Statement in a DSSE envelope (Ed25519).

`dsse` is the envelope and its pre-authentication encoding, `keys` the signing key, `statement`
what a record says, `record` making one from the store and checking one anywhere.
"""
