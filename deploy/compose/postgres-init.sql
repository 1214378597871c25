-- Run once by the postgres image on an empty data directory: one database per service
-- (each service would also create its own at start-up; creating them here keeps that explicit).
CREATE DATABASE shopflow_order;
CREATE DATABASE shopflow_payment;
CREATE DATABASE shopflow_inventory;
CREATE DATABASE shopflow_notification;
CREATE DATABASE shopflow_saga;
