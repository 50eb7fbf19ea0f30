//! The `synkro` binary: the command line of [`synkro::cli`] with the bundled connectors.

fn main() -> std::process::ExitCode {
    synkro::cli::main()
}
