-- The gates a gate guard stands at. A guard with none listed scans at every gate of
-- the enterprise; with some, at those only. Only guards have rows, and a guard
-- moved to another enterprise or role loses them.
CREATE TABLE guard_gates (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    gate_id TEXT NOT NULL REFERENCES gates(id),
    PRIMARY KEY (user_id, gate_id)
);
CREATE INDEX guard_gates_gate ON guard_gates(gate_id);
