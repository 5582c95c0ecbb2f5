DROP TABLE blacklist;
