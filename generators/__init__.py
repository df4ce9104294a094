"""The art: one sub-package per stage (poem, image, mood), engines behind small Protocols."""
