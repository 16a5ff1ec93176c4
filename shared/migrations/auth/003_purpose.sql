-- Why a token was issued: by an operator (`thaogo token create`: "command"), for the
-- session of a person who signed in by e-mail ("sign-in", never shown to anyone), or for
-- a demo sign-in link of `thaogo up` ("up", revoked when that stack stops). `thaogo
-- token list` shows it, so the sessions' tokens are not mistaken for handed-out ones.
ALTER TABLE tokens ADD COLUMN purpose text NOT NULL DEFAULT 'command';
