"""The Whoosh engine: schema and analyzers, index folder and lock, mapped files, W3 posting
blocks, the bulk segment writer, posting lists as arrays, checksums, the restricted unpickler."""
