PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version VALUES('20261126_0006');
CREATE TABLE accounts (
	id INTEGER NOT NULL, 
	code VARCHAR(100) NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	balance_constraint VARCHAR(40), 
	status VARCHAR(10) NOT NULL, 
	opened_at DATETIME NOT NULL, 
	debits_posted_minor BIGINT NOT NULL, 
	credits_posted_minor BIGINT NOT NULL, 
	debits_pending_minor BIGINT NOT NULL, 
	credits_pending_minor BIGINT NOT NULL, 
	CONSTRAINT pk_accounts PRIMARY KEY (id), 
	CONSTRAINT uq_accounts_code UNIQUE (code)
);
INSERT INTO accounts VALUES(1,'platform:bank:EUR','EUR','asset',NULL,'open','2026-11-30 09:00:00.000000',10000,0,0,0);
INSERT INTO accounts VALUES(2,'participant:acme:cash:EUR','EUR','liability','debits_must_not_exceed_credits','open','2026-11-30 09:00:00.000000',500,10000,700,0);
INSERT INTO accounts VALUES(3,'participant:shu-brocade:cash:EUR','EUR','liability','debits_must_not_exceed_credits','open','2026-11-30 09:00:00.000000',0,1000,0,700);
INSERT INTO accounts VALUES(4,'platform:escrow:order-9','EUR','liability','debits_must_not_exceed_credits','open','2026-11-30 09:00:00.000000',0,500,0,0);
INSERT INTO accounts VALUES(5,'financing:loan:fac-1','EUR','asset','credits_must_not_exceed_debits','open','2026-11-30 09:00:00.000000',1000,0,0,0);
INSERT INTO accounts VALUES(6,'financing:interest:fac-1','EUR','asset','credits_must_not_exceed_debits','open','2026-11-30 09:00:00.000000',0,0,0,0);
INSERT INTO accounts VALUES(7,'financing:interest-income:EUR','EUR','income',NULL,'open','2026-11-30 09:00:00.000000',0,0,0,0);
CREATE TABLE journal_entries (
	seq BIGINT NOT NULL, 
	"key" VARCHAR(128) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	effective_at DATETIME NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	link_key VARCHAR(128), 
	request_digest VARCHAR(64) NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	line TEXT NOT NULL, 
	CONSTRAINT pk_journal_entries PRIMARY KEY (seq), 
	CONSTRAINT uq_journal_entries_key UNIQUE ("key")
);
INSERT INTO journal_entries VALUES(1,'open_account:platform:bank:EUR#1','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'114f1955c818586041ce67f0fbf8e79e16dfaca23f136e5f248389d597c85a0e','0000000000000000000000000000000000000000000000000000000000000000','fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac','{"account":{"code":"platform:bank:EUR","constraint":null,"currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac","key":"open_account:platform:bank:EUR#1","kind":"open_account","metadata":{},"postings":[],"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","recorded_at":"2026-11-30T09:00:00.000000Z","seq":1,"status":"posted"}');
INSERT INTO journal_entries VALUES(2,'open_account:participant:acme:cash:EUR#2','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'22b569e42bbedfc8600baec2612694d862ae4aed1378adb5c13b60446e4cb7f5','fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac','afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865','{"account":{"code":"participant:acme:cash:EUR","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865","key":"open_account:participant:acme:cash:EUR#2","kind":"open_account","metadata":{},"postings":[],"prev_hash":"fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac","recorded_at":"2026-11-30T09:00:00.000000Z","seq":2,"status":"posted"}');
INSERT INTO journal_entries VALUES(3,'open_account:participant:shu-brocade:cash:EUR#3','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'7f832e73e9749d78add1e90e7cdf597dfd355668a03fffd13c7bf2e2e4a01b38','afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865','06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82','{"account":{"code":"participant:shu-brocade:cash:EUR","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82","key":"open_account:participant:shu-brocade:cash:EUR#3","kind":"open_account","metadata":{},"postings":[],"prev_hash":"afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865","recorded_at":"2026-11-30T09:00:00.000000Z","seq":3,"status":"posted"}');
INSERT INTO journal_entries VALUES(4,'before/1','transfer','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'49e2165a1d6e783537c5763dc1030902da9e82fc53eadba16e92cefb02f9ad78','06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82','57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df','{"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df","key":"before/1","kind":"transfer","metadata":{},"postings":[{"account":"platform:bank:EUR","amount":"100.00","currency":"EUR","side":"debit"},{"account":"participant:acme:cash:EUR","amount":"100.00","currency":"EUR","side":"credit"}],"prev_hash":"06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82","recorded_at":"2026-11-30T09:00:00.000000Z","seq":4,"status":"posted"}');
INSERT INTO journal_entries VALUES(5,'hold/1','pending','pending','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'1d63b89aedc392d2e537bf5dd18fff46106e3ce0ef64b901a865ffaec821ca2d','57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df','a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5','{"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5","key":"hold/1","kind":"pending","metadata":{},"postings":[{"account":"participant:acme:cash:EUR","amount":"7.00","currency":"EUR","side":"debit"},{"account":"participant:shu-brocade:cash:EUR","amount":"7.00","currency":"EUR","side":"credit"}],"prev_hash":"57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df","recorded_at":"2026-11-30T09:00:00.000000Z","seq":5,"status":"pending"}');
INSERT INTO journal_entries VALUES(6,'open_account:platform:escrow:order-9#6','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'873f850ead9f01c2d48f1cc56408ec1303346b90ea79b87a63c340d2c693ad25','a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5','592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12','{"account":{"code":"platform:escrow:order-9","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12","key":"open_account:platform:escrow:order-9#6","kind":"open_account","metadata":{},"postings":[],"prev_hash":"a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5","recorded_at":"2026-11-30T09:00:00.000000Z","seq":6,"status":"posted"}');
INSERT INTO journal_entries VALUES(7,'escrow/order-9/fund','escrow_fund','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'e9556e0d6fcb1b3afa9bdfb0b65bcb4f7e35ee5dc01799a1436d3b7e239624c1','592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12','02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037','{"description":"escrow funding of order order-9 by acme","effective_at":"2026-11-30T09:00:00.000000Z","hash":"02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037","key":"escrow/order-9/fund","kind":"escrow_fund","metadata":{"buyer":"acme","order_id":"order-9","seller":"shu-brocade"},"postings":[{"account":"participant:acme:cash:EUR","amount":"5.00","currency":"EUR","side":"debit"},{"account":"platform:escrow:order-9","amount":"5.00","currency":"EUR","side":"credit"}],"prev_hash":"592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12","recorded_at":"2026-11-30T09:00:00.000000Z","seq":7,"status":"posted"}');
INSERT INTO journal_entries VALUES(8,'open_account:financing:loan:fac-1#8','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'3388c6819578b6709a4a00c2fc57ba4252608f465770546085407db5753b4bfa','02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037','28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260','{"account":{"code":"financing:loan:fac-1","constraint":"credits_must_not_exceed_debits","currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260","key":"open_account:financing:loan:fac-1#8","kind":"open_account","metadata":{},"postings":[],"prev_hash":"02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037","recorded_at":"2026-11-30T09:00:00.000000Z","seq":8,"status":"posted"}');
INSERT INTO journal_entries VALUES(9,'open_account:financing:interest:fac-1#9','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'056a483888e307ba87dacd9e287ea3486572c50ff50229702eb0648ee019c4d7','28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260','6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba','{"account":{"code":"financing:interest:fac-1","constraint":"credits_must_not_exceed_debits","currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba","key":"open_account:financing:interest:fac-1#9","kind":"open_account","metadata":{},"postings":[],"prev_hash":"28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260","recorded_at":"2026-11-30T09:00:00.000000Z","seq":9,"status":"posted"}');
INSERT INTO journal_entries VALUES(10,'open_account:financing:interest-income:EUR#10','open_account','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'7e5ab230f0fceeae860a069a418f1b0eef0b1fec63717ccfbf9ae82bd573afd7','6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba','4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a','{"account":{"code":"financing:interest-income:EUR","constraint":null,"currency":"EUR","kind":"income"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a","key":"open_account:financing:interest-income:EUR#10","kind":"open_account","metadata":{},"postings":[],"prev_hash":"6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba","recorded_at":"2026-11-30T09:00:00.000000Z","seq":10,"status":"posted"}');
INSERT INTO journal_entries VALUES(11,'financing/fac-1/drawdown/d1','drawdown','posted','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',NULL,'4cca1558684431ecd141253f79d83798884cf164924dcbbb5ac90fdc5e7dff03','4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a','c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23','{"description":"drawdown on facility fac-1 (platform -> shu-brocade)","effective_at":"2026-11-30T09:00:00.000000Z","hash":"c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23","key":"financing/fac-1/drawdown/d1","kind":"drawdown","metadata":{"facility_id":"fac-1"},"postings":[{"account":"financing:loan:fac-1","amount":"10.00","currency":"EUR","side":"debit"},{"account":"participant:shu-brocade:cash:EUR","amount":"10.00","currency":"EUR","side":"credit"}],"prev_hash":"4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a","recorded_at":"2026-11-30T09:00:00.000000Z","seq":11,"status":"posted"}');
CREATE TABLE postings (
	entry_seq BIGINT NOT NULL, 
	position INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	is_debit BOOLEAN NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	is_pending BOOLEAN NOT NULL, 
	CONSTRAINT pk_postings PRIMARY KEY (entry_seq, position), 
	CONSTRAINT fk_postings_entry_seq_journal_entries FOREIGN KEY(entry_seq) REFERENCES journal_entries (seq) ON DELETE RESTRICT, 
	CONSTRAINT fk_postings_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE RESTRICT
);
INSERT INTO postings VALUES(4,0,1,1,10000,'EUR',0);
INSERT INTO postings VALUES(4,1,2,0,10000,'EUR',0);
INSERT INTO postings VALUES(5,0,2,1,700,'EUR',1);
INSERT INTO postings VALUES(5,1,3,0,700,'EUR',1);
INSERT INTO postings VALUES(7,0,2,1,500,'EUR',0);
INSERT INTO postings VALUES(7,1,4,0,500,'EUR',0);
INSERT INTO postings VALUES(11,0,5,1,1000,'EUR',0);
INSERT INTO postings VALUES(11,1,3,0,1000,'EUR',0);
CREATE TABLE pending_entries (
	entry_seq BIGINT NOT NULL, 
	"key" VARCHAR(128) NOT NULL, 
	expires_at DATETIME, 
	state VARCHAR(10) NOT NULL, 
	resolved_seq BIGINT, 
	CONSTRAINT pk_pending_entries PRIMARY KEY (entry_seq), 
	CONSTRAINT fk_pending_entries_entry_seq_journal_entries FOREIGN KEY(entry_seq) REFERENCES journal_entries (seq) ON DELETE RESTRICT, 
	CONSTRAINT uq_pending_entries_key UNIQUE ("key")
);
INSERT INTO pending_entries VALUES(5,'hold/1',NULL,'pending',NULL);
CREATE TABLE chain_head (
	id INTEGER NOT NULL, 
	last_seq BIGINT NOT NULL, 
	last_hash VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_chain_head PRIMARY KEY (id)
);
INSERT INTO chain_head VALUES(1,11,'c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23');
CREATE TABLE fx_rates (
	id INTEGER NOT NULL, 
	base VARCHAR(3) NOT NULL, 
	quote VARCHAR(3) NOT NULL, 
	as_of DATETIME NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	rate VARCHAR(64) NOT NULL, 
	bid VARCHAR(64), 
	ask VARCHAR(64), 
	recorded_at DATETIME NOT NULL, 
	CONSTRAINT pk_fx_rates PRIMARY KEY (id), 
	CONSTRAINT uq_fx_rates_base UNIQUE (base, quote, as_of, source)
);
INSERT INTO fx_rates VALUES(1,'EUR','CNY','2026-11-30 09:00:00.000000','test','7.8125',NULL,NULL,'2026-11-30 09:00:00.000000');
CREATE TABLE fx_revaluations (
	id INTEGER NOT NULL, 
	reporting_currency VARCHAR(3) NOT NULL, 
	at DATETIME NOT NULL, 
	entry_key VARCHAR(128), 
	unrealised_minor BIGINT NOT NULL, 
	delta_minor BIGINT NOT NULL, 
	lines TEXT NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	CONSTRAINT pk_fx_revaluations PRIMARY KEY (id), 
	CONSTRAINT fk_fx_revaluations_entry_key_journal_entries FOREIGN KEY(entry_key) REFERENCES journal_entries ("key") ON DELETE RESTRICT, 
	CONSTRAINT uq_fx_revaluations_reporting_currency UNIQUE (reporting_currency, at)
);
CREATE TABLE escrow_orders (
	order_id VARCHAR(64) NOT NULL, 
	buyer VARCHAR(64) NOT NULL, 
	seller VARCHAR(64) NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	fee_minor BIGINT NOT NULL, 
	fee_rate VARCHAR(40), 
	incoterm VARCHAR(3) NOT NULL, 
	shipment_id VARCHAR(64), 
	escrow_account VARCHAR(100) NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	placed_at DATETIME NOT NULL, 
	funding_deadline DATETIME, 
	release_deadline DATETIME, 
	funded_at DATETIME, 
	closed_at DATETIME, 
	funded_minor BIGINT NOT NULL, 
	released_minor BIGINT NOT NULL, 
	fee_charged_minor BIGINT NOT NULL, 
	refunded_minor BIGINT NOT NULL, 
	disputed BOOLEAN NOT NULL, 
	dispute_id VARCHAR(64), 
	dispute_reason TEXT, 
	dispute_outcome VARCHAR(10), 
	close_reason TEXT, 
	request_digest VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_escrow_orders PRIMARY KEY (order_id), 
	CONSTRAINT uq_escrow_orders_escrow_account UNIQUE (escrow_account)
);
INSERT INTO escrow_orders VALUES('order-9','acme','shu-brocade','EUR',500,0,NULL,'DAP',NULL,'platform:escrow:order-9','funded','2026-11-30 09:00:00.000000',NULL,NULL,'2026-11-30 09:00:00.000000',NULL,500,0,0,0,0,NULL,NULL,NULL,NULL,'7eb9e9534be24fdd6aa32bd8917af5f23cf8d064f7676920b1d60671567e9a76');
CREATE TABLE escrow_plan_items (
	order_id VARCHAR(64) NOT NULL, 
	position INTEGER NOT NULL, 
	milestone VARCHAR(20) NOT NULL, 
	share VARCHAR(20) NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	released BOOLEAN NOT NULL, 
	fee_minor BIGINT, 
	released_at DATETIME, 
	entry_key VARCHAR(128), 
	CONSTRAINT pk_escrow_plan_items PRIMARY KEY (order_id, position), 
	CONSTRAINT fk_escrow_plan_items_order_id_escrow_orders FOREIGN KEY(order_id) REFERENCES escrow_orders (order_id) ON DELETE RESTRICT
);
INSERT INTO escrow_plan_items VALUES('order-9',0,'delivered','100',500,0,NULL,NULL,NULL);
CREATE TABLE escrow_milestones (
	order_id VARCHAR(64) NOT NULL, 
	milestone VARCHAR(20) NOT NULL, 
	reached_at DATETIME NOT NULL, 
	location VARCHAR(100), 
	shipment_id VARCHAR(64), 
	recorded_at DATETIME NOT NULL, 
	CONSTRAINT pk_escrow_milestones PRIMARY KEY (order_id, milestone), 
	CONSTRAINT fk_escrow_milestones_order_id_escrow_orders FOREIGN KEY(order_id) REFERENCES escrow_orders (order_id) ON DELETE RESTRICT
);
CREATE TABLE clearing_participants (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	settlement_currency VARCHAR(3) NOT NULL, 
	legal_name VARCHAR(140), 
	country VARCHAR(2), 
	iban VARCHAR(34), 
	bic VARCHAR(11), 
	other_id VARCHAR(34), 
	registered_at DATETIME NOT NULL, 
	CONSTRAINT pk_clearing_participants PRIMARY KEY (id), 
	CONSTRAINT uq_clearing_participants_name UNIQUE (name)
);
INSERT INTO clearing_participants VALUES(1,'acme','EUR',NULL,NULL,NULL,NULL,NULL,'2026-11-30 09:00:00.000000');
INSERT INTO clearing_participants VALUES(2,'shu-brocade','EUR',NULL,NULL,NULL,NULL,NULL,'2026-11-30 09:00:00.000000');
CREATE TABLE clearing_participant_accounts (
	participant_id INTEGER NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	account_code VARCHAR(100) NOT NULL, 
	CONSTRAINT pk_clearing_participant_accounts PRIMARY KEY (participant_id, currency), 
	CONSTRAINT fk_clearing_participant_accounts_participant_id_clearing_participants FOREIGN KEY(participant_id) REFERENCES clearing_participants (id) ON DELETE RESTRICT
);
CREATE TABLE clearing_cycles (
	id INTEGER NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	opened_at DATETIME NOT NULL, 
	cutoff_at DATETIME, 
	frozen_obligations BIGINT, 
	settled_at DATETIME, 
	report TEXT, 
	CONSTRAINT pk_clearing_cycles PRIMARY KEY (id)
);
INSERT INTO clearing_cycles VALUES(1,'open','2026-11-30 09:00:00.000000',NULL,NULL,NULL,NULL);
CREATE TABLE clearing_obligations (
	id INTEGER NOT NULL, 
	reference VARCHAR(128) NOT NULL, 
	cycle_id INTEGER NOT NULL, 
	first_cycle_id INTEGER NOT NULL, 
	payer_id INTEGER NOT NULL, 
	payee_id INTEGER NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	settlement_currency VARCHAR(3) NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	submitted_at DATETIME NOT NULL, 
	CONSTRAINT pk_clearing_obligations PRIMARY KEY (id), 
	CONSTRAINT fk_clearing_obligations_cycle_id_clearing_cycles FOREIGN KEY(cycle_id) REFERENCES clearing_cycles (id) ON DELETE RESTRICT, 
	CONSTRAINT fk_clearing_obligations_first_cycle_id_clearing_cycles FOREIGN KEY(first_cycle_id) REFERENCES clearing_cycles (id) ON DELETE RESTRICT, 
	CONSTRAINT fk_clearing_obligations_payer_id_clearing_participants FOREIGN KEY(payer_id) REFERENCES clearing_participants (id) ON DELETE RESTRICT, 
	CONSTRAINT fk_clearing_obligations_payee_id_clearing_participants FOREIGN KEY(payee_id) REFERENCES clearing_participants (id) ON DELETE RESTRICT, 
	CONSTRAINT uq_clearing_obligations_reference UNIQUE (reference)
);
INSERT INTO clearing_obligations VALUES(1,'inv-1',1,1,1,2,'EUR','EUR',300,'2026-11-30 09:00:00.000000');
CREATE TABLE financing_movements (
	facility_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(12) NOT NULL, 
	reference VARCHAR(64) NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	interest_minor BIGINT NOT NULL, 
	principal_minor BIGINT NOT NULL, 
	effective_at DATETIME NOT NULL, 
	entry_key VARCHAR(128) NOT NULL, 
	request_digest VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_financing_movements PRIMARY KEY (facility_id, kind, reference), 
	CONSTRAINT fk_financing_movements_facility_id_financing_facilities FOREIGN KEY(facility_id) REFERENCES financing_facilities (facility_id) ON DELETE RESTRICT
);
INSERT INTO financing_movements VALUES('fac-1','drawdown','d1',1000,0,1000,'2026-11-30 09:00:00.000000','financing/fac-1/drawdown/d1','ef08b1d910d0f769e7c3e6712f94b921e237971af5b4e871ab77d579d3f3a74f');
CREATE TABLE IF NOT EXISTS "financing_facilities" (
	facility_id VARCHAR(64) NOT NULL, 
	borrower VARCHAR(64) NOT NULL, 
	lender VARCHAR(64) NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	limit_minor BIGINT NOT NULL, 
	annual_rate VARCHAR(40) NOT NULL, 
	day_count VARCHAR(8) NOT NULL, 
	opened_at DATETIME NOT NULL, 
	accrued_until DATETIME, 
	principal_minor BIGINT NOT NULL, 
	drawn_minor BIGINT NOT NULL, 
	principal_repaid_minor BIGINT NOT NULL, 
	interest_accrued_minor BIGINT NOT NULL, 
	interest_paid_minor BIGINT NOT NULL, 
	interest_numerator TEXT NOT NULL, 
	request_digest VARCHAR(64) NOT NULL, 
	auto_deduct BOOLEAN DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_financing_facilities PRIMARY KEY (facility_id)
);
INSERT INTO financing_facilities VALUES('fac-1','shu-brocade','platform','EUR',5000,'0.05','ACT/360','2026-11-30 09:00:00.000000','2026-11-30 00:00:00.000000',1000,1000,0,0,0,'0','6f2db90db7b6613da07791763a339fbfd9c13c482415ab5ea681173f886afeaf',0);
CREATE INDEX ix_journal_entries_effective_at ON journal_entries (effective_at);
CREATE INDEX ix_journal_entries_link_key ON journal_entries (link_key);
CREATE INDEX ix_postings_account_id_entry_seq ON postings (account_id, entry_seq);
CREATE INDEX ix_pending_entries_expires_at ON pending_entries (expires_at);
CREATE INDEX ix_fx_rates_base_quote_as_of ON fx_rates (base, quote, as_of, id);
CREATE INDEX ix_escrow_orders_shipment_id ON escrow_orders (shipment_id);
CREATE INDEX ix_escrow_orders_status ON escrow_orders (status);
CREATE INDEX ix_escrow_orders_funding_deadline ON escrow_orders (funding_deadline);
CREATE INDEX ix_escrow_orders_release_deadline ON escrow_orders (release_deadline);
CREATE UNIQUE INDEX uq_clearing_cycles_one_open ON clearing_cycles (status) WHERE status = 'open';
CREATE INDEX ix_clearing_obligations_by_payer ON clearing_obligations (cycle_id, payer_id, currency, settlement_currency, payee_id, amount_minor);
CREATE INDEX ix_clearing_obligations_by_payee ON clearing_obligations (cycle_id, payee_id, currency, settlement_currency, payer_id, amount_minor);
CREATE INDEX ix_financing_facilities_borrower ON financing_facilities (borrower);
COMMIT;
