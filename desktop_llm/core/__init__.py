"""Hold plain data types and pure logic: no I/O beyond reading shipped resources, no Qt."""
