-- Who created each account: a tenant's super_admin may grant roles only to people of their
-- own tenants, or to accounts they created themselves and that hold no role yet.
ALTER TABLE users ADD COLUMN created_by BLOB REFERENCES users (id) ON DELETE SET NULL;

-- The account the TEMP_LOGIN fallback creates; `synkro serve` deletes it once the variables
-- are gone, and refuses variables that name any other account.
ALTER TABLE users ADD COLUMN is_temporary BOOLEAN NOT NULL DEFAULT 0;

-- Login throttling shared by every API node: failed (or not yet verified) attempts per key
-- ("ua:" username and address, "a:" address) in the key's current window.
CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last_at      INTEGER NOT NULL
);
CREATE INDEX login_throttle_last_at ON login_throttle (last_at);
