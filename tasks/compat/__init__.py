"""Stage `compat`: the update gate for a new version of a live app (`gate`), and how the flow finds
the released version it is compared with (`released`)."""
