CREATE FUNCTION {schema}.jiaolong_check_entry_balance() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    DECLARE
        bad RECORD;
    BEGIN
        SELECT entry_seq, currency INTO bad
        FROM new_postings
        GROUP BY entry_seq, currency
        HAVING SUM(CASE WHEN is_debit THEN amount_minor ELSE -amount_minor END) <> 0
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'unbalanced entry: seq % currency %', bad.entry_seq, bad.currency
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$;
CREATE FUNCTION {schema}.jiaolong_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;
CREATE TABLE {schema}.accounts (
    id integer NOT NULL,
    code character varying(100) NOT NULL,
    currency character varying(3) NOT NULL,
    kind character varying(16) NOT NULL,
    balance_constraint character varying(40),
    status character varying(10) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    debits_posted_minor bigint NOT NULL,
    credits_posted_minor bigint NOT NULL,
    debits_pending_minor bigint NOT NULL,
    credits_pending_minor bigint NOT NULL
);
CREATE SEQUENCE {schema}.accounts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.accounts_id_seq OWNED BY {schema}.accounts.id;
CREATE TABLE {schema}.alembic_version (
    version_num character varying(32) NOT NULL
);
CREATE TABLE {schema}.chain_head (
    id integer NOT NULL,
    last_seq bigint NOT NULL,
    last_hash character varying(64) NOT NULL
);
CREATE TABLE {schema}.clearing_cycles (
    id integer NOT NULL,
    status character varying(10) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    cutoff_at timestamp with time zone,
    frozen_obligations bigint,
    settled_at timestamp with time zone,
    report text
);
CREATE SEQUENCE {schema}.clearing_cycles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.clearing_cycles_id_seq OWNED BY {schema}.clearing_cycles.id;
CREATE TABLE {schema}.clearing_obligations (
    id bigint NOT NULL,
    reference character varying(128) NOT NULL,
    cycle_id integer NOT NULL,
    first_cycle_id integer NOT NULL,
    payer_id integer NOT NULL,
    payee_id integer NOT NULL,
    currency character varying(3) NOT NULL,
    settlement_currency character varying(3) NOT NULL,
    amount_minor bigint NOT NULL,
    submitted_at timestamp with time zone NOT NULL
);
CREATE SEQUENCE {schema}.clearing_obligations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.clearing_obligations_id_seq OWNED BY {schema}.clearing_obligations.id;
CREATE TABLE {schema}.clearing_participant_accounts (
    participant_id integer NOT NULL,
    currency character varying(3) NOT NULL,
    account_code character varying(100) NOT NULL
);
CREATE TABLE {schema}.clearing_participants (
    id integer NOT NULL,
    name character varying(64) NOT NULL,
    settlement_currency character varying(3) NOT NULL,
    legal_name character varying(140),
    country character varying(2),
    iban character varying(34),
    bic character varying(11),
    other_id character varying(34),
    registered_at timestamp with time zone NOT NULL
);
CREATE SEQUENCE {schema}.clearing_participants_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.clearing_participants_id_seq OWNED BY {schema}.clearing_participants.id;
CREATE TABLE {schema}.escrow_milestones (
    order_id character varying(64) NOT NULL,
    milestone character varying(20) NOT NULL,
    reached_at timestamp with time zone NOT NULL,
    location character varying(100),
    shipment_id character varying(64),
    recorded_at timestamp with time zone NOT NULL
);
CREATE TABLE {schema}.escrow_orders (
    order_id character varying(64) NOT NULL,
    buyer character varying(64) NOT NULL,
    seller character varying(64) NOT NULL,
    currency character varying(3) NOT NULL,
    amount_minor bigint NOT NULL,
    fee_minor bigint NOT NULL,
    fee_rate character varying(40),
    incoterm character varying(3) NOT NULL,
    shipment_id character varying(64),
    escrow_account character varying(100) NOT NULL,
    status character varying(12) NOT NULL,
    placed_at timestamp with time zone NOT NULL,
    funding_deadline timestamp with time zone,
    release_deadline timestamp with time zone,
    funded_at timestamp with time zone,
    closed_at timestamp with time zone,
    funded_minor bigint NOT NULL,
    released_minor bigint NOT NULL,
    fee_charged_minor bigint NOT NULL,
    refunded_minor bigint NOT NULL,
    disputed boolean NOT NULL,
    dispute_id character varying(64),
    dispute_reason text,
    dispute_outcome character varying(10),
    close_reason text,
    request_digest character varying(64) NOT NULL
);
CREATE TABLE {schema}.escrow_plan_items (
    order_id character varying(64) NOT NULL,
    "position" integer NOT NULL,
    milestone character varying(20) NOT NULL,
    share character varying(20) NOT NULL,
    amount_minor bigint NOT NULL,
    released boolean NOT NULL,
    fee_minor bigint,
    released_at timestamp with time zone,
    entry_key character varying(128)
);
CREATE TABLE {schema}.financing_facilities (
    facility_id character varying(64) NOT NULL,
    borrower character varying(64) NOT NULL,
    lender character varying(64) NOT NULL,
    currency character varying(3) NOT NULL,
    limit_minor bigint NOT NULL,
    annual_rate character varying(40) NOT NULL,
    day_count character varying(8) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    accrued_until timestamp with time zone,
    principal_minor bigint NOT NULL,
    drawn_minor bigint NOT NULL,
    principal_repaid_minor bigint NOT NULL,
    interest_accrued_minor bigint NOT NULL,
    interest_paid_minor bigint NOT NULL,
    interest_numerator text NOT NULL,
    request_digest character varying(64) NOT NULL,
    auto_deduct boolean DEFAULT false NOT NULL
);
CREATE TABLE {schema}.financing_movements (
    facility_id character varying(64) NOT NULL,
    kind character varying(12) NOT NULL,
    reference character varying(64) NOT NULL,
    amount_minor bigint NOT NULL,
    interest_minor bigint NOT NULL,
    principal_minor bigint NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    entry_key character varying(128) NOT NULL,
    request_digest character varying(64) NOT NULL
);
CREATE TABLE {schema}.fx_rates (
    id integer NOT NULL,
    base character varying(3) NOT NULL,
    quote character varying(3) NOT NULL,
    as_of timestamp with time zone NOT NULL,
    source character varying(64) NOT NULL,
    rate character varying(64) NOT NULL,
    bid character varying(64),
    ask character varying(64),
    recorded_at timestamp with time zone NOT NULL
);
CREATE SEQUENCE {schema}.fx_rates_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.fx_rates_id_seq OWNED BY {schema}.fx_rates.id;
CREATE TABLE {schema}.fx_revaluations (
    id integer NOT NULL,
    reporting_currency character varying(3) NOT NULL,
    at timestamp with time zone NOT NULL,
    entry_key character varying(128),
    unrealised_minor bigint NOT NULL,
    delta_minor bigint NOT NULL,
    lines text NOT NULL,
    recorded_at timestamp with time zone NOT NULL
);
CREATE SEQUENCE {schema}.fx_revaluations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE {schema}.fx_revaluations_id_seq OWNED BY {schema}.fx_revaluations.id;
CREATE TABLE {schema}.journal_entries (
    seq bigint NOT NULL,
    key character varying(128) NOT NULL,
    kind character varying(20) NOT NULL,
    status character varying(10) NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    link_key character varying(128),
    request_digest character varying(64) NOT NULL,
    prev_hash character varying(64) NOT NULL,
    hash character varying(64) NOT NULL,
    line text NOT NULL
);
CREATE TABLE {schema}.pending_entries (
    entry_seq bigint NOT NULL,
    key character varying(128) NOT NULL,
    expires_at timestamp with time zone,
    state character varying(10) NOT NULL,
    resolved_seq bigint
);
CREATE TABLE {schema}.postings (
    entry_seq bigint NOT NULL,
    "position" integer NOT NULL,
    account_id integer NOT NULL,
    is_debit boolean NOT NULL,
    amount_minor bigint NOT NULL,
    currency character varying(3) NOT NULL,
    is_pending boolean NOT NULL
);
ALTER TABLE ONLY {schema}.accounts ALTER COLUMN id SET DEFAULT nextval('{schema}.accounts_id_seq'::regclass);
ALTER TABLE ONLY {schema}.clearing_cycles ALTER COLUMN id SET DEFAULT nextval('{schema}.clearing_cycles_id_seq'::regclass);
ALTER TABLE ONLY {schema}.clearing_obligations ALTER COLUMN id SET DEFAULT nextval('{schema}.clearing_obligations_id_seq'::regclass);
ALTER TABLE ONLY {schema}.clearing_participants ALTER COLUMN id SET DEFAULT nextval('{schema}.clearing_participants_id_seq'::regclass);
ALTER TABLE ONLY {schema}.fx_rates ALTER COLUMN id SET DEFAULT nextval('{schema}.fx_rates_id_seq'::regclass);
ALTER TABLE ONLY {schema}.fx_revaluations ALTER COLUMN id SET DEFAULT nextval('{schema}.fx_revaluations_id_seq'::regclass);
INSERT INTO {schema}.accounts VALUES (1, 'platform:bank:EUR', 'EUR', 'asset', NULL, 'open', '2026-11-30 09:00:00+00', 10000, 0, 0, 0);
INSERT INTO {schema}.accounts VALUES (2, 'participant:acme:cash:EUR', 'EUR', 'liability', 'debits_must_not_exceed_credits', 'open', '2026-11-30 09:00:00+00', 500, 10000, 700, 0);
INSERT INTO {schema}.accounts VALUES (4, 'platform:escrow:order-9', 'EUR', 'liability', 'debits_must_not_exceed_credits', 'open', '2026-11-30 09:00:00+00', 0, 500, 0, 0);
INSERT INTO {schema}.accounts VALUES (6, 'financing:interest:fac-1', 'EUR', 'asset', 'credits_must_not_exceed_debits', 'open', '2026-11-30 09:00:00+00', 0, 0, 0, 0);
INSERT INTO {schema}.accounts VALUES (7, 'financing:interest-income:EUR', 'EUR', 'income', NULL, 'open', '2026-11-30 09:00:00+00', 0, 0, 0, 0);
INSERT INTO {schema}.accounts VALUES (3, 'participant:shu-brocade:cash:EUR', 'EUR', 'liability', 'debits_must_not_exceed_credits', 'open', '2026-11-30 09:00:00+00', 0, 1000, 0, 700);
INSERT INTO {schema}.accounts VALUES (5, 'financing:loan:fac-1', 'EUR', 'asset', 'credits_must_not_exceed_debits', 'open', '2026-11-30 09:00:00+00', 1000, 0, 0, 0);
INSERT INTO {schema}.alembic_version VALUES ('20261126_0006');
INSERT INTO {schema}.chain_head VALUES (1, 11, 'c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23');
INSERT INTO {schema}.clearing_cycles VALUES (1, 'open', '2026-11-30 09:00:00+00', NULL, NULL, NULL, NULL);
INSERT INTO {schema}.clearing_obligations VALUES (1, 'inv-1', 1, 1, 1, 2, 'EUR', 'EUR', 300, '2026-11-30 09:00:00+00');
INSERT INTO {schema}.clearing_participants VALUES (1, 'acme', 'EUR', NULL, NULL, NULL, NULL, NULL, '2026-11-30 09:00:00+00');
INSERT INTO {schema}.clearing_participants VALUES (2, 'shu-brocade', 'EUR', NULL, NULL, NULL, NULL, NULL, '2026-11-30 09:00:00+00');
INSERT INTO {schema}.escrow_orders VALUES ('order-9', 'acme', 'shu-brocade', 'EUR', 500, 0, NULL, 'DAP', NULL, 'platform:escrow:order-9', 'funded', '2026-11-30 09:00:00+00', NULL, NULL, '2026-11-30 09:00:00+00', NULL, 500, 0, 0, 0, false, NULL, NULL, NULL, NULL, '7eb9e9534be24fdd6aa32bd8917af5f23cf8d064f7676920b1d60671567e9a76');
INSERT INTO {schema}.escrow_plan_items VALUES ('order-9', 0, 'delivered', '100', 500, false, NULL, NULL, NULL);
INSERT INTO {schema}.financing_facilities VALUES ('fac-1', 'shu-brocade', 'platform', 'EUR', 5000, '0.05', 'ACT/360', '2026-11-30 09:00:00+00', '2026-11-30 00:00:00+00', 1000, 1000, 0, 0, 0, '0', '6f2db90db7b6613da07791763a339fbfd9c13c482415ab5ea681173f886afeaf', false);
INSERT INTO {schema}.financing_movements VALUES ('fac-1', 'drawdown', 'd1', 1000, 0, 1000, '2026-11-30 09:00:00+00', 'financing/fac-1/drawdown/d1', 'ef08b1d910d0f769e7c3e6712f94b921e237971af5b4e871ab77d579d3f3a74f');
INSERT INTO {schema}.fx_rates VALUES (1, 'EUR', 'CNY', '2026-11-30 09:00:00+00', 'test', '7.8125', NULL, NULL, '2026-11-30 09:00:00+00');
INSERT INTO {schema}.journal_entries VALUES (1, 'open_account:platform:bank:EUR#1', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '114f1955c818586041ce67f0fbf8e79e16dfaca23f136e5f248389d597c85a0e', '0000000000000000000000000000000000000000000000000000000000000000', 'fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac', '{"account":{"code":"platform:bank:EUR","constraint":null,"currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac","key":"open_account:platform:bank:EUR#1","kind":"open_account","metadata":{},"postings":[],"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","recorded_at":"2026-11-30T09:00:00.000000Z","seq":1,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (2, 'open_account:participant:acme:cash:EUR#2', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '22b569e42bbedfc8600baec2612694d862ae4aed1378adb5c13b60446e4cb7f5', 'fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac', 'afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865', '{"account":{"code":"participant:acme:cash:EUR","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865","key":"open_account:participant:acme:cash:EUR#2","kind":"open_account","metadata":{},"postings":[],"prev_hash":"fe8a98dca76c661094eb1918740ffae334f51821f6bc28311bcf10e2b9b3c5ac","recorded_at":"2026-11-30T09:00:00.000000Z","seq":2,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (3, 'open_account:participant:shu-brocade:cash:EUR#3', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '7f832e73e9749d78add1e90e7cdf597dfd355668a03fffd13c7bf2e2e4a01b38', 'afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865', '06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82', '{"account":{"code":"participant:shu-brocade:cash:EUR","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82","key":"open_account:participant:shu-brocade:cash:EUR#3","kind":"open_account","metadata":{},"postings":[],"prev_hash":"afc3e6034a82cb7f6e2d441c7e1d3ef76e30f924b6fcea4c4922a887f4a0a865","recorded_at":"2026-11-30T09:00:00.000000Z","seq":3,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (4, 'before/1', 'transfer', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '49e2165a1d6e783537c5763dc1030902da9e82fc53eadba16e92cefb02f9ad78', '06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82', '57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df', '{"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df","key":"before/1","kind":"transfer","metadata":{},"postings":[{"account":"platform:bank:EUR","amount":"100.00","currency":"EUR","side":"debit"},{"account":"participant:acme:cash:EUR","amount":"100.00","currency":"EUR","side":"credit"}],"prev_hash":"06c12914c610788075a1ccedf7ec84f2d9baecac3b7a86398729a9276a2e7e82","recorded_at":"2026-11-30T09:00:00.000000Z","seq":4,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (5, 'hold/1', 'pending', 'pending', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '1d63b89aedc392d2e537bf5dd18fff46106e3ce0ef64b901a865ffaec821ca2d', '57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df', 'a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5', '{"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5","key":"hold/1","kind":"pending","metadata":{},"postings":[{"account":"participant:acme:cash:EUR","amount":"7.00","currency":"EUR","side":"debit"},{"account":"participant:shu-brocade:cash:EUR","amount":"7.00","currency":"EUR","side":"credit"}],"prev_hash":"57b825386121a3ed90461bb583e5ecdcec8324aa3f5e0e1750baaf3ab09692df","recorded_at":"2026-11-30T09:00:00.000000Z","seq":5,"status":"pending"}');
INSERT INTO {schema}.journal_entries VALUES (6, 'open_account:platform:escrow:order-9#6', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '873f850ead9f01c2d48f1cc56408ec1303346b90ea79b87a63c340d2c693ad25', 'a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5', '592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12', '{"account":{"code":"platform:escrow:order-9","constraint":"debits_must_not_exceed_credits","currency":"EUR","kind":"liability"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12","key":"open_account:platform:escrow:order-9#6","kind":"open_account","metadata":{},"postings":[],"prev_hash":"a15db2371d26759f3788178cf3c79d079e06102b6a821e02032272aef10292f5","recorded_at":"2026-11-30T09:00:00.000000Z","seq":6,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (7, 'escrow/order-9/fund', 'escrow_fund', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, 'e9556e0d6fcb1b3afa9bdfb0b65bcb4f7e35ee5dc01799a1436d3b7e239624c1', '592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12', '02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037', '{"description":"escrow funding of order order-9 by acme","effective_at":"2026-11-30T09:00:00.000000Z","hash":"02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037","key":"escrow/order-9/fund","kind":"escrow_fund","metadata":{"buyer":"acme","order_id":"order-9","seller":"shu-brocade"},"postings":[{"account":"participant:acme:cash:EUR","amount":"5.00","currency":"EUR","side":"debit"},{"account":"platform:escrow:order-9","amount":"5.00","currency":"EUR","side":"credit"}],"prev_hash":"592b5600c641f7de9735792b45612de1068be8c7e3d91f190612000027e9ef12","recorded_at":"2026-11-30T09:00:00.000000Z","seq":7,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (8, 'open_account:financing:loan:fac-1#8', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '3388c6819578b6709a4a00c2fc57ba4252608f465770546085407db5753b4bfa', '02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037', '28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260', '{"account":{"code":"financing:loan:fac-1","constraint":"credits_must_not_exceed_debits","currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260","key":"open_account:financing:loan:fac-1#8","kind":"open_account","metadata":{},"postings":[],"prev_hash":"02e341e94dbeb449e1c70d51ce96f697748d25c417048248c0e7babdf77f9037","recorded_at":"2026-11-30T09:00:00.000000Z","seq":8,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (9, 'open_account:financing:interest:fac-1#9', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '056a483888e307ba87dacd9e287ea3486572c50ff50229702eb0648ee019c4d7', '28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260', '6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba', '{"account":{"code":"financing:interest:fac-1","constraint":"credits_must_not_exceed_debits","currency":"EUR","kind":"asset"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba","key":"open_account:financing:interest:fac-1#9","kind":"open_account","metadata":{},"postings":[],"prev_hash":"28d80ea0dadfd49eb977280325171850c4faa2b706d5c4105d12dd80c70fe260","recorded_at":"2026-11-30T09:00:00.000000Z","seq":9,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (10, 'open_account:financing:interest-income:EUR#10', 'open_account', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '7e5ab230f0fceeae860a069a418f1b0eef0b1fec63717ccfbf9ae82bd573afd7', '6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba', '4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a', '{"account":{"code":"financing:interest-income:EUR","constraint":null,"currency":"EUR","kind":"income"},"description":"","effective_at":"2026-11-30T09:00:00.000000Z","hash":"4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a","key":"open_account:financing:interest-income:EUR#10","kind":"open_account","metadata":{},"postings":[],"prev_hash":"6bb13a15829293d1a95a5be45009dba71cb6f122788f894ba9bf5b8e5e2d2eba","recorded_at":"2026-11-30T09:00:00.000000Z","seq":10,"status":"posted"}');
INSERT INTO {schema}.journal_entries VALUES (11, 'financing/fac-1/drawdown/d1', 'drawdown', 'posted', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, '4cca1558684431ecd141253f79d83798884cf164924dcbbb5ac90fdc5e7dff03', '4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a', 'c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23', '{"description":"drawdown on facility fac-1 (platform -> shu-brocade)","effective_at":"2026-11-30T09:00:00.000000Z","hash":"c07b9c59fe53a4a2e24f9dae6585b35647dffb5374bf51eb3e49a91fc4260b23","key":"financing/fac-1/drawdown/d1","kind":"drawdown","metadata":{"facility_id":"fac-1"},"postings":[{"account":"financing:loan:fac-1","amount":"10.00","currency":"EUR","side":"debit"},{"account":"participant:shu-brocade:cash:EUR","amount":"10.00","currency":"EUR","side":"credit"}],"prev_hash":"4f96df518a6428278c5d2634e6cb0361437661214c0935213d9ec6f397e3d64a","recorded_at":"2026-11-30T09:00:00.000000Z","seq":11,"status":"posted"}');
INSERT INTO {schema}.pending_entries VALUES (5, 'hold/1', NULL, 'pending', NULL);
INSERT INTO {schema}.postings VALUES (4, 0, 1, true, 10000, 'EUR', false);
INSERT INTO {schema}.postings VALUES (4, 1, 2, false, 10000, 'EUR', false);
INSERT INTO {schema}.postings VALUES (5, 0, 2, true, 700, 'EUR', true);
INSERT INTO {schema}.postings VALUES (5, 1, 3, false, 700, 'EUR', true);
INSERT INTO {schema}.postings VALUES (7, 0, 2, true, 500, 'EUR', false);
INSERT INTO {schema}.postings VALUES (7, 1, 4, false, 500, 'EUR', false);
INSERT INTO {schema}.postings VALUES (11, 0, 5, true, 1000, 'EUR', false);
INSERT INTO {schema}.postings VALUES (11, 1, 3, false, 1000, 'EUR', false);
SELECT pg_catalog.setval('{schema}.accounts_id_seq', 7, true);
SELECT pg_catalog.setval('{schema}.clearing_cycles_id_seq', 1, true);
SELECT pg_catalog.setval('{schema}.clearing_obligations_id_seq', 1, true);
SELECT pg_catalog.setval('{schema}.clearing_participants_id_seq', 2, true);
SELECT pg_catalog.setval('{schema}.fx_rates_id_seq', 1, true);
SELECT pg_catalog.setval('{schema}.fx_revaluations_id_seq', 1, false);
ALTER TABLE ONLY {schema}.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);
ALTER TABLE ONLY {schema}.accounts
    ADD CONSTRAINT pk_accounts PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.chain_head
    ADD CONSTRAINT pk_chain_head PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.clearing_cycles
    ADD CONSTRAINT pk_clearing_cycles PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT pk_clearing_obligations PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.clearing_participant_accounts
    ADD CONSTRAINT pk_clearing_participant_accounts PRIMARY KEY (participant_id, currency);
ALTER TABLE ONLY {schema}.clearing_participants
    ADD CONSTRAINT pk_clearing_participants PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.escrow_milestones
    ADD CONSTRAINT pk_escrow_milestones PRIMARY KEY (order_id, milestone);
ALTER TABLE ONLY {schema}.escrow_orders
    ADD CONSTRAINT pk_escrow_orders PRIMARY KEY (order_id);
ALTER TABLE ONLY {schema}.escrow_plan_items
    ADD CONSTRAINT pk_escrow_plan_items PRIMARY KEY (order_id, "position");
ALTER TABLE ONLY {schema}.financing_facilities
    ADD CONSTRAINT pk_financing_facilities PRIMARY KEY (facility_id);
ALTER TABLE ONLY {schema}.financing_movements
    ADD CONSTRAINT pk_financing_movements PRIMARY KEY (facility_id, kind, reference);
ALTER TABLE ONLY {schema}.fx_rates
    ADD CONSTRAINT pk_fx_rates PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.fx_revaluations
    ADD CONSTRAINT pk_fx_revaluations PRIMARY KEY (id);
ALTER TABLE ONLY {schema}.journal_entries
    ADD CONSTRAINT pk_journal_entries PRIMARY KEY (seq);
ALTER TABLE ONLY {schema}.pending_entries
    ADD CONSTRAINT pk_pending_entries PRIMARY KEY (entry_seq);
ALTER TABLE ONLY {schema}.postings
    ADD CONSTRAINT pk_postings PRIMARY KEY (entry_seq, "position");
ALTER TABLE ONLY {schema}.accounts
    ADD CONSTRAINT uq_accounts_code UNIQUE (code);
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT uq_clearing_obligations_reference UNIQUE (reference);
ALTER TABLE ONLY {schema}.clearing_participants
    ADD CONSTRAINT uq_clearing_participants_name UNIQUE (name);
ALTER TABLE ONLY {schema}.escrow_orders
    ADD CONSTRAINT uq_escrow_orders_escrow_account UNIQUE (escrow_account);
ALTER TABLE ONLY {schema}.fx_rates
    ADD CONSTRAINT uq_fx_rates_base UNIQUE (base, quote, as_of, source);
ALTER TABLE ONLY {schema}.fx_revaluations
    ADD CONSTRAINT uq_fx_revaluations_reporting_currency UNIQUE (reporting_currency, at);
ALTER TABLE ONLY {schema}.journal_entries
    ADD CONSTRAINT uq_journal_entries_key UNIQUE (key);
ALTER TABLE ONLY {schema}.pending_entries
    ADD CONSTRAINT uq_pending_entries_key UNIQUE (key);
CREATE INDEX ix_clearing_obligations_by_payee ON {schema}.clearing_obligations USING btree (cycle_id, payee_id, currency, settlement_currency, payer_id, amount_minor);
CREATE INDEX ix_clearing_obligations_by_payer ON {schema}.clearing_obligations USING btree (cycle_id, payer_id, currency, settlement_currency, payee_id, amount_minor);
CREATE INDEX ix_escrow_orders_funding_deadline ON {schema}.escrow_orders USING btree (funding_deadline);
CREATE INDEX ix_escrow_orders_release_deadline ON {schema}.escrow_orders USING btree (release_deadline);
CREATE INDEX ix_escrow_orders_shipment_id ON {schema}.escrow_orders USING btree (shipment_id);
CREATE INDEX ix_escrow_orders_status ON {schema}.escrow_orders USING btree (status);
CREATE INDEX ix_financing_facilities_borrower ON {schema}.financing_facilities USING btree (borrower);
CREATE INDEX ix_fx_rates_base_quote_as_of ON {schema}.fx_rates USING btree (base, quote, as_of, id);
CREATE INDEX ix_journal_entries_effective_at ON {schema}.journal_entries USING btree (effective_at);
CREATE INDEX ix_journal_entries_link_key ON {schema}.journal_entries USING btree (link_key);
CREATE INDEX ix_pending_entries_expires_at ON {schema}.pending_entries USING btree (expires_at);
CREATE INDEX ix_postings_account_id_entry_seq ON {schema}.postings USING btree (account_id, entry_seq);
CREATE UNIQUE INDEX uq_clearing_cycles_one_open ON {schema}.clearing_cycles USING btree (status) WHERE ((status)::text = 'open'::text);
CREATE TRIGGER journal_entries_append_only BEFORE DELETE OR UPDATE ON {schema}.journal_entries FOR EACH ROW EXECUTE FUNCTION {schema}.jiaolong_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON {schema}.journal_entries FOR EACH STATEMENT EXECUTE FUNCTION {schema}.jiaolong_refuse_change();
CREATE TRIGGER postings_append_only BEFORE DELETE OR UPDATE ON {schema}.postings FOR EACH ROW EXECUTE FUNCTION {schema}.jiaolong_refuse_change();
CREATE TRIGGER postings_balanced_per_entry AFTER INSERT ON {schema}.postings REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION {schema}.jiaolong_check_entry_balance();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON {schema}.postings FOR EACH STATEMENT EXECUTE FUNCTION {schema}.jiaolong_refuse_change();
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT fk_clearing_obligations_cycle_id_clearing_cycles FOREIGN KEY (cycle_id) REFERENCES {schema}.clearing_cycles(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT fk_clearing_obligations_first_cycle_id_clearing_cycles FOREIGN KEY (first_cycle_id) REFERENCES {schema}.clearing_cycles(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT fk_clearing_obligations_payee_id_clearing_participants FOREIGN KEY (payee_id) REFERENCES {schema}.clearing_participants(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.clearing_obligations
    ADD CONSTRAINT fk_clearing_obligations_payer_id_clearing_participants FOREIGN KEY (payer_id) REFERENCES {schema}.clearing_participants(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.clearing_participant_accounts
    ADD CONSTRAINT fk_clearing_participant_accounts_participant_id_clearin_cefb FOREIGN KEY (participant_id) REFERENCES {schema}.clearing_participants(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.escrow_milestones
    ADD CONSTRAINT fk_escrow_milestones_order_id_escrow_orders FOREIGN KEY (order_id) REFERENCES {schema}.escrow_orders(order_id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.escrow_plan_items
    ADD CONSTRAINT fk_escrow_plan_items_order_id_escrow_orders FOREIGN KEY (order_id) REFERENCES {schema}.escrow_orders(order_id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.financing_movements
    ADD CONSTRAINT fk_financing_movements_facility_id_financing_facilities FOREIGN KEY (facility_id) REFERENCES {schema}.financing_facilities(facility_id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.fx_revaluations
    ADD CONSTRAINT fk_fx_revaluations_entry_key_journal_entries FOREIGN KEY (entry_key) REFERENCES {schema}.journal_entries(key) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.pending_entries
    ADD CONSTRAINT fk_pending_entries_entry_seq_journal_entries FOREIGN KEY (entry_seq) REFERENCES {schema}.journal_entries(seq) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.postings
    ADD CONSTRAINT fk_postings_account_id_accounts FOREIGN KEY (account_id) REFERENCES {schema}.accounts(id) ON DELETE RESTRICT;
ALTER TABLE ONLY {schema}.postings
    ADD CONSTRAINT fk_postings_entry_seq_journal_entries FOREIGN KEY (entry_seq) REFERENCES {schema}.journal_entries(seq) ON DELETE RESTRICT;
