DROP INDEX registrations_arrival_status;
DROP INDEX registrations_enterprise_status;
DROP INDEX registrations_plate;
DROP INDEX registrations_arrival_day;
