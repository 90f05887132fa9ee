from driftguard.cli import console_main

console_main()
