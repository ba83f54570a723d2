use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = skydeck::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skydeck: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(skydeck::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skydeck: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
