DROP TABLE form_templates;
