"""Motion detection: decode a (sub)stream, compare with a learned background, report changed area."""
