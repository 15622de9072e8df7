// Bench's users see the report types it produces (BenchReport and its parts, in Documents) without
// importing Documents themselves.

@_exported import Documents
