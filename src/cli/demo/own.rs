//! What the demo created in a database: recorded in `demo.json` in its data directory, so a
//! later run replaces exactly that and nothing else, and new logins that never take over an
//! existing account.

use std::path::{Path, PathBuf};

use crate::{
    PageRequest, Store, StoreError,
    domain::{NewUser, User},
    ids::{TenantId, UserId},
};
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The tenant and logins an earlier demo run created here.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Record {
    /// The demo's tenant.
    pub tenant: Option<TenantId>,
    /// The demo's logins.
    pub users: Vec<UserId>,
}

impl Record {
    /// Where the record of the demo using `data_dir` lives.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("demo.json")
    }

    /// The record at `path`; none yet is an empty record.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!("{} is not the demo's record of what it created; move it away and run again", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Saves the record at `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Tenants in `store` this record does not name (at most a few, by slug).
    pub async fn foreign_tenants(&self, store: &Store) -> anyhow::Result<Vec<String>> {
        let page = store.list_tenants(&PageRequest::first(6)?).await?;
        Ok(page.items.into_iter().filter(|t| Some(t.id) != self.tenant).map(|t| t.slug.to_string()).collect())
    }

    /// Deletes the recorded tenant (with its integrations, jobs and reports) and logins that
    /// still exist.
    pub async fn remove(&self, store: &Store) -> anyhow::Result<()> {
        if let Some(tenant) = self.tenant {
            ignore_missing(store.delete_tenant(tenant).await)?;
        }
        for user in &self.users {
            ignore_missing(store.delete_user(*user).await)?;
        }
        Ok(())
    }
}

fn ignore_missing(result: Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Err(StoreError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// A login the demo created.
pub(super) struct Login {
    /// The stored user.
    pub user: User,
    /// Its password, shown once on the terminal.
    pub password: String,
    /// The name the demo wanted, when an existing account already had it (and was left as it is).
    pub taken: Option<String>,
}

/// Creates a new login named `wanted`, or `demo-{wanted}`, `demo-{wanted}-2`, ... when that name
/// belongs to an existing account: existing accounts are never changed.
pub(super) async fn create_login(store: &Store, wanted: &str, superuser: bool) -> anyhow::Result<Login> {
    let names =
        [wanted.to_owned(), format!("demo-{wanted}")].into_iter().chain((2..100).map(|n| format!("demo-{wanted}-{n}")));
    for name in names {
        match store.get_user_by_username(&name).await {
            Ok(_) => continue,
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let password = password()?;
        let mut new = NewUser::new(&name)?;
        new.password_hash = Some(crate::http::auth::password::hash_async(password.clone()).await?);
        new.is_superuser = superuser;
        match store.create_user(&new).await {
            Ok(user) => return Ok(Login { user, password, taken: (name != wanted).then(|| wanted.to_owned()) }),
            // Taken in the meantime: try the next name.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!(
        "every login name the demo tries for its {wanted} account is taken (delete some demo-{wanted}-N users)"
    )
}

/// Password characters: letters and digits without the look-alikes 0, O, 1, l, I.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters per password: about 116 bits.
const PASSWORD_LEN: usize = 20;

/// A fresh password from the operating system's cryptographic random source.
fn password() -> anyhow::Result<String> {
    // Bytes at or above the largest multiple of the alphabet's size are dropped, so every
    // character is equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(PASSWORD_LEN);
    let mut bytes = [0u8; 2 * PASSWORD_LEN];
    while password.len() < PASSWORD_LEN {
        getrandom::fill(&mut bytes).context("the operating system's random source failed")?;
        let chars = bytes.iter().map(|b| usize::from(*b)).filter(|b| *b < limit);
        password.extend(chars.map(|b| char::from(ALPHABET[b % ALPHABET.len()])).take(PASSWORD_LEN - password.len()));
    }
    Ok(password)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_do_not_come_from_a_seedable_generator() {
        // A seeded pseudo-random generator gives the same "random" password twice.
        fastrand::seed(7);
        let first = password().unwrap();
        fastrand::seed(7);
        let second = password().unwrap();
        assert_ne!(first, second);
        for p in [&first, &second] {
            assert_eq!(p.len(), PASSWORD_LEN);
            assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
        }
    }
}
