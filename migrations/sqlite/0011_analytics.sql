-- Conversation analytics Synkro measures in a report's dialogs (issue 13): a typed field.
ALTER TABLE reports ADD COLUMN analytics TEXT;
