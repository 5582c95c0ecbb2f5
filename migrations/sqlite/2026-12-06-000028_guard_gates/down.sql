DROP TABLE guard_gates;
