//! `synkro admin`: minimal account and tenant management from the shell. Passwords are read
//! from standard input, never from arguments (which land in shell history and `ps`).

use std::io::BufRead;

use crate::{
    Store,
    domain::{AuditAction, NewAuditLog, NewTenant, NewUser, NewUserRole, Role, Slug, UserUpdate},
};
use anyhow::{Context, bail};
use clap::Subcommand;

/// Account and tenant tasks.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a user. With --password-stdin the password is the first line of standard input;
    /// without it the user cannot sign in until `set-password`.
    CreateUser {
        /// Login name.
        username: String,
        /// Contact e-mail.
        #[arg(long)]
        email: Option<String>,
        /// Make the user a superuser.
        #[arg(long)]
        superuser: bool,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password from the first line of standard input, end their sessions and
    /// revoke their API tokens.
    SetPassword {
        /// Login name.
        username: String,
    },
    /// Grant a role (super_admin, admin_lite or user) on a tenant, or globally without --tenant.
    GrantRole {
        /// Login name.
        username: String,
        /// super_admin, admin_lite or user.
        role: String,
        /// The tenant's slug; omit for a global role.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a user's role on a tenant, or their global role without --tenant.
    RevokeRole {
        /// Login name.
        username: String,
        /// The tenant's slug; omit for the global role.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List users with their roles.
    ListUsers,
    /// List tenants.
    ListTenants,
    /// Create a tenant.
    CreateTenant {
        /// Display name.
        name: String,
        /// Unique slug such as acme-retail.
        slug: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if let Err(e) = crate::domain::check_password("password", &password) {
        bail!("the password {}", e.message);
    }
    Ok(password)
}

async fn audit(store: &Store, action: AuditAction, message: String) -> anyhow::Result<()> {
    let mut entry = NewAuditLog::new(action, message);
    entry.metadata = serde_json::json!({ "via": "cli" });
    store.append_audit(&entry).await?;
    Ok(())
}

/// Every item of a paged list.
async fn every<T>(
    mut list: impl AsyncFnMut(&crate::PageRequest) -> Result<crate::Page<T>, crate::StoreError>,
) -> anyhow::Result<Vec<T>> {
    let mut page = crate::PageRequest::first(200)?;
    let mut out = Vec::new();
    loop {
        let got = list(&page).await?;
        out.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page = crate::PageRequest::after(200, cursor)?,
            None => return Ok(out),
        }
    }
}

/// Runs one admin command.
#[allow(clippy::print_stdout)]
pub async fn run(store: &Store, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser { username, email, superuser, password_stdin } => {
            let mut new = NewUser::new(&username)?;
            if let Some(email) = email {
                new = new.with_email(&email)?;
            }
            new.is_superuser = superuser;
            if password_stdin {
                new.password_hash = Some(crate::http::auth::password::hash(&read_password()?)?);
            }
            let user = store.create_user(&new).await?;
            audit(store, AuditAction::UserCreate, format!("created user {username}")).await?;
            println!("created user {} ({})", user.username, user.id);
        }
        AdminCommand::SetPassword { username } => {
            let user = store.get_user_by_username(&username).await?;
            let hash = crate::http::auth::password::hash(&read_password()?)?;
            store.update_user(user.id, &UserUpdate { password_hash: Some(hash), ..Default::default() }).await?;
            let ended = store.revoke_user_sessions(user.id).await?;
            let revoked = store.revoke_user_api_tokens(user.id).await?;
            audit(store, AuditAction::UserSetPassword, format!("set the password of {username}")).await?;
            println!("password set for {username}; {ended} session(s) ended, {revoked} API token(s) revoked");
        }
        AdminCommand::GrantRole { username, role, tenant } => {
            let user = store.get_user_by_username(&username).await?;
            let role: Role = role.parse()?;
            let tenant_id = match &tenant {
                Some(slug) => Some(store.get_tenant_by_slug(&Slug::new(slug)?).await?.id),
                None => None,
            };
            store.grant_role(&NewUserRole { user_id: user.id, tenant_id, role }).await?;
            let scope = tenant.map_or_else(|| "every tenant".to_owned(), |slug| format!("tenant {slug}"));
            audit(store, AuditAction::RoleGrant, format!("granted {role} on {scope} to {username}")).await?;
            println!("granted {role} on {scope} to {username}");
        }
        AdminCommand::RevokeRole { username, tenant } => {
            let user = store.get_user_by_username(&username).await?;
            let tenant_id = match &tenant {
                Some(slug) => Some(store.get_tenant_by_slug(&Slug::new(slug)?).await?.id),
                None => None,
            };
            let scope = tenant.map_or_else(|| "every tenant".to_owned(), |slug| format!("tenant {slug}"));
            let roles = store.list_user_roles(user.id).await?;
            let Some(role) = roles.into_iter().find(|r| r.tenant_id == tenant_id) else {
                bail!("{username} has no role on {scope}; `synkro admin list-users` shows the roles");
            };
            store.revoke_role(role.id).await?;
            audit(store, AuditAction::RoleRevoke, format!("revoked {} on {scope} from {username}", role.role)).await?;
            println!("revoked {} on {scope} from {username}", role.role);
        }
        AdminCommand::ListUsers => {
            let tenants = every(async |p| store.list_tenants(p).await).await?;
            let slug = |id| tenants.iter().find(|t| t.id == id).map_or("?", |t| t.slug.as_str());
            for user in every(async |p| store.list_users(p).await).await? {
                let roles: Vec<String> = store
                    .list_user_roles(user.id)
                    .await?
                    .into_iter()
                    .map(|r| {
                        let scope = r.tenant_id.map_or("*", slug);
                        let off = if r.is_active { "" } else { " (inactive)" };
                        format!("{}@{scope}{off}", r.role)
                    })
                    .collect();
                let flags = [
                    (user.is_superuser, "superuser"),
                    (!user.is_active, "inactive"),
                    (user.password_hash.is_none(), "no password"),
                ];
                let flags: Vec<&str> = flags.iter().filter(|(on, _)| *on).map(|(_, name)| *name).collect();
                println!("{:<24} {:<28} {}", user.username, flags.join(","), roles.join(" "));
            }
        }
        AdminCommand::ListTenants => {
            for t in every(async |p| store.list_tenants(p).await).await? {
                println!("{:<24} {:<10} {:<20} {}", t.slug.as_str(), t.status.as_str(), t.timezone.as_str(), t.name);
            }
        }
        AdminCommand::CreateTenant { name, slug, timezone } => {
            let tenant = store.create_tenant(&NewTenant::new(&name, &slug, &timezone)?).await?;
            audit(store, AuditAction::TenantCreate, format!("created tenant {slug}")).await?;
            println!("created tenant {} ({})", tenant.slug, tenant.id);
        }
    }
    Ok(())
}
