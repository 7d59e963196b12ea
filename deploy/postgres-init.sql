-- One database per service (database per service, as in the seed).
CREATE DATABASE user_service_db;
CREATE DATABASE notification_service_db;
CREATE DATABASE freelance_service_db;
CREATE DATABASE content_service_db;
CREATE DATABASE marketplace_service_db;
