// A mistyped subcommand names the one that was meant, in one line, with the usage exit code (64); a word
// close to none lists the commands; history's subcommands likewise.

import Foundation
import TestSupport
import Testing

@Suite("Mistyped subcommands")
struct CommandSuggestionCLITests {
    @Test(
        "a near miss suggests the command",
        arguments: [
            (["diagnos"], "'diagnos' is not a nestprobe command; did you mean 'nestprobe diagnose'?"),
            (["qaulify", "--policy", "x"], "'qaulify' is not a nestprobe command; did you mean 'nestprobe qualify'?"),
            (["rendr", "r.json"], "'rendr' is not a nestprobe command; did you mean 'nestprobe render'?"),
            (["hist", "list"], "'hist' is not a nestprobe command; did you mean 'nestprobe history'?"),
            (
                ["history", "ad", "r.json"],
                "'ad' is not a nestprobe history command; did you mean 'nestprobe history add'?"
            ),
            (
                ["history", "chekc"],
                "'chekc' is not a nestprobe history command; did you mean 'nestprobe history check'?"
            ),
        ])
    func nearMiss(arguments: [String], message: String) throws {
        let (status, out, err) = try NestprobeRunner.run(arguments).parts
        #expect(status == 64)
        #expect(out.isEmpty)
        #expect(err == "nestprobe: \(message)\n")
    }

    @Test("a word near no command lists them; options and arguments of a known command are not touched")
    func farMiss() throws {
        let far = try NestprobeRunner.run(["zzzzzz"]).parts
        #expect(far.status == 64)
        #expect(
            far.err
                == "nestprobe: 'zzzzzz' is not a nestprobe command (commands: diagnose, capture, bench, compare, qualify, render, history, fleet)\n"
        )
        // A missing argument of a known command keeps ArgumentParser's own message.
        let missing = try NestprobeRunner.run(["render"]).parts
        #expect(missing.status == 64)
        #expect(!missing.err.contains("did you mean"))
        #expect(!missing.err.contains("is not a nestprobe command"))
        // An unknown option of the default command is not a command.
        let option = try NestprobeRunner.run(["--no-such-option"]).parts
        #expect(option.status == 64)
        #expect(!option.err.contains("is not a nestprobe command"))
    }
}
