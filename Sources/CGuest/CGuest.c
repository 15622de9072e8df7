// Intentionally empty: SwiftPM needs a C source; the payloads live in the .S files.
