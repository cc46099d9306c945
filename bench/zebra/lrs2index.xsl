<?xml version="1.0" encoding="UTF-8"?>
<!--
  Zebra DOM-filter indexing rules for bench/search.mjs: the same fields into the same indexes as
  the LRS search index (packages/shared/src/union/describe.ts, searchText), as far as XSLT 1.0 can:
    title      245 $abfgknps; 130 210 222 240 242 243 246 247 730 740 (letter subfields); $t on of
               100/110/111/700/710/711/720; the same fields in 880 (original script)
    author     100 110 111 700 710 711 720 $abcdjq (before a $t); the same in 880
    subject    600-699 (letter subfields); the same in 880
    publisher  260 264 $b
    isbn       020 $a $z, first word (the benchmark's ISBNs are ISBN-13 without hyphens)
    issn       022 $a $l $y $z
    year       numeric: 008/07-10 when four digits, else the first four digits of 260/264 $c
               (LRS: Date 1 of 008, else the first year in 260/264 $c)
    any        every data field 010-899 and 880 (letter subfields)
  Words go through the ICU chain of lrs-words.xml (see lrs.idx).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:z="http://indexdata.com/zebra-2.0"
    xmlns:m="http://www.loc.gov/MARC21/slim">
  <xsl:output indent="no" method="xml" version="1.0" encoding="UTF-8"/>

  <xsl:template match="text()"/>

  <xsl:template match="/">
    <xsl:apply-templates select="//m:record"/>
  </xsl:template>

  <xsl:template match="m:record">
    <z:record z:id="{normalize-space(m:controlfield[@tag='001'])}" type="update">
      <xsl:for-each select="m:datafield">
        <xsl:variable name="tag">
          <xsl:choose>
            <xsl:when test="@tag='880'"><xsl:value-of select="substring(m:subfield[@code='6'], 1, 3)"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="@tag"/></xsl:otherwise>
          </xsl:choose>
        </xsl:variable>
        <xsl:variable name="letters">
          <xsl:for-each select="m:subfield[contains('abcdefghijklmnopqrstuvwxyz', @code)]">
            <xsl:value-of select="."/><xsl:text> </xsl:text>
          </xsl:for-each>
        </xsl:variable>
        <xsl:choose>
          <xsl:when test="$tag='245'">
            <z:index name="title:w title:p">
              <xsl:for-each select="m:subfield[contains('abfgknps', @code)]">
                <xsl:value-of select="."/><xsl:text> </xsl:text>
              </xsl:for-each>
            </z:index>
          </xsl:when>
          <xsl:when test="contains(' 130 210 222 240 242 243 246 247 730 740 ', concat(' ', $tag, ' '))">
            <z:index name="title:w title:p"><xsl:value-of select="$letters"/></z:index>
          </xsl:when>
          <xsl:when test="contains(' 100 110 111 700 710 711 720 ', concat(' ', $tag, ' '))">
            <z:index name="author:w author:p">
              <xsl:for-each select="m:subfield[contains('abcdjq', @code) and not(preceding-sibling::m:subfield[@code='t'])]">
                <xsl:value-of select="."/><xsl:text> </xsl:text>
              </xsl:for-each>
            </z:index>
            <xsl:if test="m:subfield[@code='t']">
              <z:index name="title:w">
                <xsl:for-each select="m:subfield[@code='t'] | m:subfield[preceding-sibling::m:subfield[@code='t'] and contains('abcdefghijklmnopqrstuvwxyz', @code)]">
                  <xsl:value-of select="."/><xsl:text> </xsl:text>
                </xsl:for-each>
              </z:index>
            </xsl:if>
          </xsl:when>
          <xsl:when test="starts-with($tag, '6')">
            <z:index name="subject:w subject:p"><xsl:value-of select="$letters"/></z:index>
          </xsl:when>
          <xsl:when test="$tag='260' or $tag='264'">
            <z:index name="publisher:w">
              <xsl:for-each select="m:subfield[@code='b']"><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each>
            </z:index>
          </xsl:when>
          <xsl:when test="$tag='020'">
            <xsl:for-each select="m:subfield[@code='a' or @code='z']">
              <z:index name="isbn:w"><xsl:value-of select="substring-before(concat(normalize-space(.), ' '), ' ')"/></z:index>
            </xsl:for-each>
          </xsl:when>
          <xsl:when test="$tag='022'">
            <xsl:for-each select="m:subfield[@code='a' or @code='l' or @code='y' or @code='z']">
              <z:index name="issn:w"><xsl:value-of select="translate(normalize-space(.), '-', '')"/></z:index>
            </xsl:for-each>
          </xsl:when>
        </xsl:choose>
        <xsl:if test="@tag='880' or (@tag &gt;= 10 and @tag &lt;= 899 and @tag != 852)">
          <z:index name="any:w"><xsl:value-of select="$letters"/></z:index>
        </xsl:if>
      </xsl:for-each>
      <xsl:variable name="d1" select="substring(m:controlfield[@tag='008'], 8, 4)"/>
      <xsl:variable name="c" select="(m:datafield[@tag='260' or @tag='264']/m:subfield[@code='c'])[1]"/>
      <xsl:variable name="cdigits" select="translate($c, translate($c, '0123456789', ''), '')"/>
      <xsl:choose>
        <xsl:when test="string-length($d1) = 4 and translate($d1, '0123456789', '') = ''">
          <z:index name="year:n"><xsl:value-of select="$d1"/></z:index>
        </xsl:when>
        <xsl:when test="string-length($cdigits) &gt;= 4">
          <z:index name="year:n"><xsl:value-of select="substring($cdigits, 1, 4)"/></z:index>
        </xsl:when>
      </xsl:choose>
    </z:record>
  </xsl:template>
</xsl:stylesheet>
