from agentbook.cli import console_main

console_main()
