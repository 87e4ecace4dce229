//! The `aura` command line: serve (the default), worker, migrate, demo, orgs, keys, export.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;

use crate::config::{GlobalArgs, ServeArgs, WorkerArgs, parse_duration};
use crate::db::Database;
use crate::db::PoolRole;
use crate::domain::{Actor, ScopeSet, Slug};
use crate::error::AppError;
use crate::ids::{self, IdKind};
use crate::seed::{self, DemoOptions};
use crate::services::api_keys::{self as keys, NewKey};
use crate::startup::{Application, shutdown_signal};

/// An error for the operator: what was being done, and the whole cause, not the public
/// message a caller of the API would get.
fn failed(context: &'static str) -> impl Fn(AppError) -> String {
    move |err| format!("{context}: {}", err.chain())
}

#[derive(Parser, Debug)]
#[command(
    name = "aura",
    version,
    about = "Aura Partner API server and admin tool"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
    /// `aura` alone serves, with these options.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the API server (the default).
    Serve(Box<ServeArgs>),
    /// Deliver webhooks without serving HTTP (run any number beside `aura serve`).
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create the demo organization with deterministic data and print an API key.
    Demo {
        /// How many leads to generate.
        #[arg(long, default_value_t = seed::DEFAULT_LEADS)]
        leads: usize,
    },
    /// Manage organizations.
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write the GraphQL SDL and the OpenAPI document into a directory.
    Export {
        #[arg(long, default_value = "schema")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum OrgsCommand {
    /// Create an organization.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// The Clerk organization id (`org_…`) whose members sign in to it.
        #[arg(long)]
        clerk_org_id: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create an API key; prints the secret once, as the last line.
    Create {
        /// The organization's slug.
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes; all scopes when omitted.
        #[arg(long)]
        scopes: Option<String>,
        /// Lifetime such as `30d`, `12h`; no expiry when omitted.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List an organization's keys (never their secrets).
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a key by id (`key_…`); effective on the next request.
    Revoke { key_id: String },
}

/// Parses arguments, runs the command, and turns every failure into a one-line reason.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                err.exit();
            }
            let rendered = err.to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    if let Err(reason) = crate::telemetry::init(cli.global.log_format, &cli.global.log) {
        eprintln!("error: {reason}");
        return ExitCode::from(2);
    }
    crate::crypto::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let global = cli.global;
    match cli.command {
        None => serve(&global, &cli.serve).await,
        Some(Command::Serve(args)) => serve(&global, &args).await,
        Some(Command::Worker(args)) => worker(&global, &args).await,
        Some(Command::Migrate) => {
            connect(&global, PoolRole::Tool).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::Demo { leads }) => {
            let db = connect(&global, PoolRole::Tool).await?;
            let started = std::time::Instant::now();
            let outcome = seed::ensure_demo(
                &db,
                DemoOptions {
                    leads,
                    progress: true,
                    ..Default::default()
                },
            )
            .await
            .map_err(failed("seeding the demo organization"))?;
            if outcome.seeded {
                println!(
                    "seeded organization `{}` with {} leads in {:.2} s",
                    outcome.organization.slug,
                    outcome.leads,
                    started.elapsed().as_secs_f64()
                );
            } else {
                println!(
                    "organization `{}` already exists; minted a new key",
                    outcome.organization.slug
                );
            }
            println!("{}", outcome.api_key);
            Ok(())
        }
        Some(Command::Orgs {
            command:
                OrgsCommand::Create {
                    name,
                    slug,
                    clerk_org_id,
                },
        }) => {
            let slug = Slug::parse(&slug)?;
            let db = connect(&global, PoolRole::Tool).await?;
            let org = crate::services::orgs::create(&db, &name, &slug, clerk_org_id.as_deref())
                .await
                .map_err(failed("creating the organization"))?;
            println!(
                "{}\t{}\t{}",
                ids::encode(IdKind::Organization, org.id),
                org.slug,
                org.name
            );
            Ok(())
        }
        Some(Command::Keys { command }) => run_keys(&global, command).await,
        Some(Command::Export { dir }) => export(&dir),
    }
}

async fn run_keys(global: &GlobalArgs, command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create {
            org,
            name,
            scopes,
            expires_in,
        } => {
            let scopes = match scopes {
                Some(list) => ScopeSet::parse_list(&list)?,
                None => ScopeSet::all(),
            };
            let scopes: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
            let expires_at = match expires_in {
                Some(text) => Some(crate::time::now() + parse_duration(&text)?),
                None => None,
            };
            let db = connect(global, PoolRole::Tool).await?;
            let org = find_org(&db, &org).await?;
            let input = NewKey {
                name,
                scopes,
                expires_at,
            };
            let created = keys::create(&db, &Actor::operator(org.id), input)
                .await
                .map_err(failed("creating the key"))?;
            println!(
                "created {} `{}` for `{}` with scopes {}",
                ids::encode(IdKind::ApiKey, created.key.id),
                created.key.name,
                org.slug,
                created.key.scopes
            );
            println!("{}", created.secret);
            Ok(())
        }
        KeysCommand::List { org } => {
            let db = connect(global, PoolRole::Tool).await?;
            let org = find_org(&db, &org).await?;
            let at = crate::time::now();
            println!("ID\tNAME\tPREFIX\tSTATUS\tSCOPES\tLAST USED\tEXPIRES");
            for key in keys::list(&db, &Actor::operator(org.id))
                .await
                .map_err(failed("listing keys"))?
            {
                let show = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(crate::time::format_rfc3339)
                        .unwrap_or_else(|| "-".to_owned())
                };
                println!(
                    "{}\t{}\t{}…\t{}\t{}\t{}\t{}",
                    ids::encode(IdKind::ApiKey, key.id),
                    key.name,
                    key.display_prefix,
                    crate::views::WireEnum::wire_name(keys::status(&key, at)),
                    key.scopes,
                    show(key.last_used_at),
                    show(key.expires_at),
                );
            }
            Ok(())
        }
        KeysCommand::Revoke { key_id } => {
            ids::decode(IdKind::ApiKey, &key_id).map_err(|e| format!("`{key_id}` {e}"))?;
            let db = Database::new(connect(global, PoolRole::Tool).await?);
            let org = keys::organization_of(db.conn(), &key_id)
                .await
                .map_err(failed("finding the key"))?;
            let key = keys::revoke(&db, &Actor::operator(org), &key_id)
                .await
                .map_err(failed("revoking the key"))?;
            println!("revoked {} `{}`", key_id, key.name);
            Ok(())
        }
    }
}

async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<(), String> {
    let config = args.config(global)?;
    let db = connect(global, PoolRole::Serve).await?;
    if args.demo {
        // An empty database gets the demo organization; one that already has it (a second
        // `serve --demo`) gets a fresh key, since the first was shown only once. Other
        // data is never mixed with demo data.
        let has_demo = crate::services::orgs::find_by_slug(&db, seed::DEMO_SLUG)
            .await
            .map_err(failed("looking for the demo organization"))?
            .is_some();
        if has_demo
            || seed::is_empty(&db)
                .await
                .map_err(failed("looking at the database"))?
        {
            let started = std::time::Instant::now();
            let outcome = seed::ensure_demo(&db, DemoOptions::default())
                .await
                .map_err(failed("seeding the demo organization"))?;
            if outcome.seeded {
                println!(
                    "seeded the demo organization ({} leads) in {:.2} s",
                    outcome.leads,
                    started.elapsed().as_secs_f64()
                );
            } else {
                println!("the demo organization already exists; minted a new key for it");
            }
            println!("demo API key (shown once):");
            println!("{}", outcome.api_key);
        } else {
            println!(
                "the database holds other organizations; not seeding demo data into it (`aura demo` adds the demo organization anyway)"
            );
        }
    }
    let app = Application::build_with_db(config.clone(), db)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(bind) = config.metrics_bind {
        let handle = crate::telemetry::install_metrics()?;
        let state = app.state();
        crate::startup::serve_metrics(
            bind,
            crate::http::metrics::MetricsSource {
                handle,
                db: state.db().clone(),
                limiter: Some(state.guard.limiter().clone()),
                readiness: state.readiness.clone(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let shutdown = shutdown_signal();
    tracing::info!(
        address = %std::net::SocketAddr::new(config.bind.ip(), app.port()),
        database = crate::db::backend_name(app.state().db()),
        rate_limits = app.state().guard.limiter().backend_name(),
        clerk = config.clerk.is_some(),
        "listening"
    );
    app.run_until_stopped(shutdown)
        .await
        .map_err(|e| format!("server: {e}"))
}

async fn worker(global: &GlobalArgs, args: &WorkerArgs) -> Result<(), String> {
    let config = args.webhooks.config(global)?;
    let db = Database::new(connect(global, PoolRole::Worker).await?);
    let hooks = crate::webhooks::Webhooks::new(config)?;
    crate::db::listen::spawn(&db);
    if let Some(bind) = args.metrics.metrics_bind {
        let handle = crate::telemetry::install_metrics()?;
        crate::startup::serve_metrics(
            bind,
            crate::http::metrics::MetricsSource {
                handle,
                db: db.clone(),
                limiter: None,
                readiness: crate::http::Readiness::default(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tracing::info!(
        database = crate::db::backend_name(&db),
        "webhook worker running; stop with SIGTERM"
    );
    crate::webhooks::Dispatcher::new(db, hooks)
        .run(shutdown_signal())
        .await;
    Ok(())
}

async fn connect(global: &GlobalArgs, role: PoolRole) -> Result<DatabaseConnection, String> {
    let pool_size = global
        .db_max_connections
        .unwrap_or_else(|| crate::db::default_pool_size(&global.database_url, role));
    let db = crate::db::connect_with(&global.database_url, Some(pool_size))
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    crate::db::migrate(&db)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    if role != PoolRole::Tool {
        crate::db::check_connection_budget(&db, pool_size).await;
    }
    Ok(db)
}

async fn find_org(
    db: &DatabaseConnection,
    slug: &str,
) -> Result<entities::organization::Model, String> {
    crate::services::orgs::find_by_slug(db, slug)
        .await
        .map_err(failed("looking for the organization"))?
        .ok_or_else(|| format!("no organization with slug `{slug}`"))
}

fn export(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, contents) in [
        ("schema.graphql", crate::graphql::sdl()),
        ("openapi.json", crate::rest::document_json().to_owned()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
