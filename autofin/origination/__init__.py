"""Origination: the services behind the entry API (users, partners, customers, vehicles,
applications, pre-approval, documents). Each function takes an open connection inside the
caller's transaction and the acting user, validates with the domain, writes, and audits."""
