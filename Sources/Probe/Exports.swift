// Probe's users see the documents it reads and writes (Snapshot's ToolInfo and TSCFrequency, InputError,
// DocumentFile, the statistics and text helpers) without importing Documents themselves.

@_exported import Documents
