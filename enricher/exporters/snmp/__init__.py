"""SNMP: the ENRICHER-MIB served to net-snmp's snmpd as an AgentX subagent (RFC 2741)."""
