//! `ferrosoup-load`: see the library docs; `ferrosoup-load --help` lists the options.

use anyhow::Context as _;
use clap::Parser;
use ferrosoup_load::{run_load, Args};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    let filter: tracing_subscriber::filter::Targets =
        args.log.parse().context("bad --log filter")?;
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    raise_open_files_limit();
    if args.baseline {
        let summary = ferrosoup_load::baseline::run(&args)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            summary.print_table();
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .thread_name("load")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let summary = runtime.block_on(async {
        tokio::select! {
            r = run_load(&args) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        summary.print_table();
    }
    Ok(())
}

/// One UDP socket and one TCP connection per peer: ask for as many descriptors as the hard limit allows.
fn raise_open_files_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}
