//! The secrets each fake service accepts, generated deterministically from the seed.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The OpenAI key that is valid but has no quota: completions answer 429 `insufficient_quota`.
pub const OPENAI_NO_QUOTA_KEY: &str = "sk-sandbox-no-quota";

/// The bot's username on the fake Telegram server (mention it as `@synkro_sandbox_bot`).
pub const TELEGRAM_BOT_USERNAME: &str = "synkro_sandbox_bot";

/// amoCRM account id that every token and entity carries.
pub(crate) const AMOCRM_ACCOUNT_ID: i64 = 31_000_001;

/// `exp` of the long-lived amoCRM token: 2031-01-01T00:00:00Z.
const LONG_LIVED_EXP: i64 = 1_924_992_000;

/// Credentials the sandbox's servers accept. Nothing here is secret: it is all fake.
///
/// Serializable so that a sandbox running in another process can hand them over (see
/// [`remote`](crate::remote)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// amoCRM account subdomain, `"acme"`.
    pub amocrm_subdomain: String,
    /// A long-lived amoCRM token (JWT-shaped, `exp` in 2031): always accepted, never expires.
    pub amocrm_long_lived_token: String,
    /// The initial OAuth access token (JWT-shaped with `exp` = start + 24 h).
    pub amocrm_access_token: String,
    /// The initial OAuth refresh token (single use).
    pub amocrm_refresh_token: String,
    /// OAuth client id of the integration.
    pub amocrm_client_id: String,
    /// OAuth client secret of the integration.
    pub amocrm_client_secret: String,
    /// OAuth redirect URI registered for the integration.
    pub amocrm_redirect_uri: String,
    /// Radist key with the `messaging` scope.
    pub radist_api_key: String,
    /// A valid Radist key without the `messaging` scope: chats and messages answer 403.
    pub radist_api_key_no_scope: String,
    /// The Radist company the keys can see: 205113.
    pub radist_company_id: i64,
    /// Legacy `service_role` JWT (starts with `eyJ`): needs `apikey` and `Authorization: Bearer`.
    pub supabase_service_key: String,
    /// New-style `sb_secret_...` key: needs `apikey` only.
    pub supabase_secret_key: String,
    /// OpenAI-compatible API key (`sk-...`).
    pub openai_api_key: String,
    /// Gemini API key (`AIza...`).
    pub gemini_api_key: String,
    /// Telegram bot token, `<bot id>:<secret>`.
    pub telegram_bot_token: String,
    /// The supergroup the bot is a member of.
    pub telegram_chat_id: i64,
}

/// The bot's Telegram user id (the numeric part of its token, `getMe`'s `id`).
pub const TELEGRAM_BOT_ID: i64 = 7_123_456_789;

impl Credentials {
    /// Generates the credentials for `seed` (independent of the generated data).
    pub(crate) fn generate(seed: u64, now_unix: i64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed_c0de_cafe_f00d);
        let client_id = format!(
            "{}-{}-4{}-a{}-{}",
            hex(&mut rng, 8),
            hex(&mut rng, 4),
            hex(&mut rng, 3),
            hex(&mut rng, 3),
            hex(&mut rng, 12)
        );
        let long_lived = amocrm_jwt(&mut rng, &client_id, now_unix, LONG_LIVED_EXP);
        let access = amocrm_jwt(&mut rng, &client_id, now_unix, now_unix + 86_400);
        let supabase_payload = json!({"iss": "supabase", "ref": "sandboxref", "role": "service_role",
            "iat": 1_700_000_000, "exp": 2_000_000_000});
        Credentials {
            amocrm_subdomain: "acme".to_owned(),
            amocrm_long_lived_token: long_lived,
            amocrm_access_token: access,
            amocrm_refresh_token: refresh_token(&mut rng),
            amocrm_client_id: client_id,
            amocrm_client_secret: alnum(&mut rng, 64),
            amocrm_redirect_uri: "https://synkro.example/oauth/amocrm".to_owned(),
            radist_api_key: format!("rk_live_{}", alnum(&mut rng, 32)),
            radist_api_key_no_scope: format!("rk_live_{}", alnum(&mut rng, 32)),
            radist_company_id: 205_113,
            supabase_service_key: fake_jwt(&mut rng, &supabase_payload),
            supabase_secret_key: format!("sb_secret_{}", alnum(&mut rng, 32)),
            openai_api_key: format!("sk-sandbox-{}", alnum(&mut rng, 40)),
            gemini_api_key: format!("AIza{}", alnum(&mut rng, 35)),
            telegram_bot_token: format!("{TELEGRAM_BOT_ID}:AA{}", alnum(&mut rng, 33)),
            telegram_chat_id: -1_001_234_567_890,
        }
    }
}

impl Credentials {
    /// The long-lived token of amoCRM account `subdomain` (`"acme"`, or `"acme.amocrm.ru"`) on
    /// this sandbox. Every account serves the same data, and the amoCRM server enforces its rate
    /// limit per account, so tenants with different accounts never share a budget while tenants
    /// that share one do. For [`amocrm_subdomain`](Self::amocrm_subdomain) this is
    /// [`amocrm_long_lived_token`](Self::amocrm_long_lived_token); other tokens are derived
    /// deterministically from it and the subdomain, JWT-shaped with the account in the payload.
    ///
    /// ```
    /// # async fn demo() {
    /// let sandbox = synkro_sandbox::Sandbox::start(Default::default()).await;
    /// let c = sandbox.credentials();
    /// assert_eq!(c.amocrm_token_for("acme"), c.amocrm_long_lived_token);
    /// assert_eq!(c.amocrm_token_for("shop-2"), c.amocrm_token_for("shop-2.amocrm.ru"));
    /// assert_ne!(c.amocrm_token_for("shop-2"), c.amocrm_long_lived_token);
    /// # }
    /// ```
    pub fn amocrm_token_for(&self, subdomain: &str) -> String {
        let subdomain = account_subdomain(subdomain);
        if subdomain == self.amocrm_subdomain {
            return self.amocrm_long_lived_token.clone();
        }
        let seed = fnv1a(self.amocrm_long_lived_token.bytes().chain([0]).chain(subdomain.bytes()));
        let mut rng = fastrand::Rng::with_seed(seed);
        let payload = json!({
            "aud": self.amocrm_client_id, "jti": hex(&mut rng, 32), "iat": 1_700_000_000, "nbf": 1_700_000_000,
            "exp": LONG_LIVED_EXP, "sub": "1001", "grant_type": "", "account_id": AMOCRM_ACCOUNT_ID + 1 + (seed % 1_000_000) as i64,
            "base_domain": "amocrm.ru", "version": 2, "scopes": ["crm", "files", "notifications"],
            "api_domain": "api-b.amocrm.ru", "sandbox_account": subdomain,
        });
        fake_jwt(&mut rng, &payload)
    }

    /// The account (subdomain) a long-lived token of [`Credentials::amocrm_token_for`] belongs to.
    pub(crate) fn amocrm_account_of(&self, token: &str) -> Option<String> {
        if token == self.amocrm_long_lived_token {
            return Some(self.amocrm_subdomain.clone());
        }
        let payload = token.split('.').nth(1).and_then(base64url_decode)?;
        let payload: Value = serde_json::from_slice(&payload).ok()?;
        let account = payload.get("sandbox_account")?.as_str()?;
        (self.amocrm_token_for(account) == token).then(|| account.to_owned())
    }
}

/// `acme` for `acme`, `acme.amocrm.ru`, `https://acme.kommo.com/`.
fn account_subdomain(domain: &str) -> String {
    let trimmed = domain.trim().to_ascii_lowercase();
    let host = trimmed.trim_start_matches("https://").trim_start_matches("http://");
    host.split(['.', '/', '?']).next().unwrap_or_default().to_owned()
}

/// FNV-1a 64.
fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A new amoCRM access token valid for 24 h from `now_unix`.
pub(crate) fn new_access_token(rng: &mut fastrand::Rng, client_id: &str, now_unix: i64) -> String {
    amocrm_jwt(rng, client_id, now_unix, now_unix + 86_400)
}

/// A new opaque amoCRM refresh token.
pub(crate) fn refresh_token(rng: &mut fastrand::Rng) -> String {
    format!("def50200{}", hex(rng, 120))
}

fn amocrm_jwt(rng: &mut fastrand::Rng, client_id: &str, iat: i64, exp: i64) -> String {
    let payload = json!({
        "aud": client_id, "jti": hex(rng, 32), "iat": iat, "nbf": iat, "exp": exp,
        "sub": "1001", "grant_type": "", "account_id": AMOCRM_ACCOUNT_ID,
        "base_domain": "amocrm.ru", "version": 2, "scopes": ["crm", "files", "notifications"],
        "api_domain": "api-b.amocrm.ru",
    });
    fake_jwt(rng, &payload)
}

/// `header.payload.signature` with base64url parts; the signature is random.
fn fake_jwt(rng: &mut fastrand::Rng, payload: &Value) -> String {
    let header = base64url(br#"{"typ":"JWT","alg":"RS256"}"#);
    let body = base64url(payload.to_string().as_bytes());
    let signature: Vec<u8> = (0..64).map(|_| rng.u8(..)).collect();
    format!("{header}.{body}.{}", base64url(&signature))
}

/// Unpadded base64url.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` on a character outside the alphabet.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn hex(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)])).collect()
}

fn alnum(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.alphanumeric()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff], br#"{"a":"b"}"#] {
            assert_eq!(base64url_decode(&base64url(bytes)).as_deref(), Some(bytes));
        }
        assert_eq!(base64url_decode("a b"), None);
    }

    #[test]
    fn account_tokens_name_their_account_and_cannot_be_forged() {
        let creds = Credentials::generate(3, 1_700_000_000);
        assert_eq!(creds.amocrm_account_of(&creds.amocrm_long_lived_token).as_deref(), Some("acme"));
        let shop = creds.amocrm_token_for("shop-7.amocrm.ru");
        assert_eq!(creds.amocrm_account_of(&shop).as_deref(), Some("shop-7"));
        assert_eq!(shop, creds.amocrm_token_for("shop-7"), "deterministic");
        let other = Credentials::generate(4, 1_700_000_000);
        assert_eq!(other.amocrm_account_of(&shop), None, "another sandbox's token is refused");
        let forged = format!("{}.AAAA", shop.rsplit_once('.').unwrap().0);
        assert_eq!(creds.amocrm_account_of(&forged), None);
    }
}
