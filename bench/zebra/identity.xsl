<?xml version="1.0" encoding="UTF-8"?>
<!-- Returns the stored MARCXML record as it is (SRU recordSchema "marcxml"). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output indent="no" method="xml" version="1.0" encoding="UTF-8"/>
  <xsl:template match="/"><xsl:copy-of select="/"/></xsl:template>
</xsl:stylesheet>
