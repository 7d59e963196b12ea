-- Generated from the service registry (platform/services) by `make generate`:
-- edit the registry or platform/services/gen/templates, not this file.
-- One database per service (database per service, as in the seed).
CREATE DATABASE user_service_db;
CREATE DATABASE notification_service_db;
CREATE DATABASE freelance_service_db;
CREATE DATABASE content_service_db;
CREATE DATABASE marketplace_service_db;
