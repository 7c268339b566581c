-- The district screen's accounts: a name, its role (bureau: the education
-- bureau, cdc: the CDC liaison) and its password as an argon2id hash in the
-- PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash); never the
-- password itself.
CREATE TABLE users (
	name TEXT PRIMARY KEY,
	role TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at TEXT NOT NULL
);
