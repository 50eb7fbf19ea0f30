-- The dashboard's language chosen in a user's profile (issue 14); NULL follows the browser.
ALTER TABLE user_profiles ADD COLUMN language TEXT CHECK (language IN ('ru', 'en'));
