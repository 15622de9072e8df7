// PolicyFile: reading a policy from a file with the checks every input gets (exists, a regular file,
// not empty, not huge), then strict decoding and a check for duplicated keys; every problem is one
// InputError line naming the file and the field.

import Documents

/// Loads policy files.
public enum PolicyFile {
    /// A policy is a page of rules; anything larger is refused before it is parsed.
    public static let maximumBytes = 1 << 20

    /// The policy in the file at `path`; the cases it names must be among `vocabulary`'s.
    public static func load(_ path: String, vocabulary: PolicyVocabulary) throws(InputError) -> Policy {
        let bytes = try DocumentFile.readInput(path)
        return try parse(bytes, name: path, vocabulary: vocabulary)
    }

    /// A policy from bytes; `name` is used in messages.
    public static func parse(_ bytes: [UInt8], name: String, vocabulary: PolicyVocabulary) throws(InputError) -> Policy
    {
        guard bytes.count <= maximumBytes else {
            throw InputError(
                .badData, "\(name): \(bytes.count) bytes, over the \(maximumBytes >> 10) KiB limit for a policy")
        }
        let first = bytes.first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }
        guard first == UInt8(ascii: "{") else {
            throw InputError(.badData, "\(name): not a nestprobe policy (a JSON object, see docs/policy.md)")
        }
        // decodeJSON also refuses duplicated keys, as for every nestprobe document.
        return try DocumentFile.decodeJSON(
            Policy.self, bytes, name: name, schema: Policy.schemaID,
            version: Policy.currentVersion, userInfo: [PolicyVocabulary.userInfoKey: vocabulary])
    }
}
