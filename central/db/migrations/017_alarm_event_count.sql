-- How many alarm events an incident holds, kept with the incident instead of counted on every view
-- (an incident a backlog of 10,000 detector events joined made each view scan them all).
ALTER TABLE alarms ADD COLUMN event_count integer NOT NULL DEFAULT 1;
UPDATE alarms a SET event_count = greatest(1, (SELECT count(*) FROM events j
  WHERE j.alarm_id = a.id AND j.qualifier = 'event' AND j.relates_to IS NULL));
