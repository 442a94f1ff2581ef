from agentbook.launcher import main

main()
