"""``driftguard doctor``: check, per tenant, everything a nightly run needs, and say how to fix it.

model.py holds the values (checks and their status), claims.py reads an access token's claims,
shapes.py describes the wire forms seen, redact.py makes a shareable sample, probe.py runs the
checks through the same clients a nightly run uses, render.py turns results into text or JSON.
"""
