// Fakes for the OS-facing interfaces live beside this file (one per interface).
